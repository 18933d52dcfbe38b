#include "engine/import_pipeline.h"

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace idsync {
namespace {

// One call the connector made into its sink, kept for the staging thread.
struct Item {
  enum class Kind : uint8_t { kRecord, kUnchanged, kError };
  Kind kind = Kind::kRecord;
  PreparedRecord prepared;  // kUnchanged and kError: record.location only
  int64_t unchanged_id = 0;
  std::string message;  // kError
};

using Batch = std::vector<Item>;

// The bounded queue between the two threads. Stop() is the staging side
// giving up: pushes fail from then on and a reader waiting for room wakes.
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}

  // False when the staging side stopped (the batch is dropped).
  bool Push(Batch&& batch) {
    std::unique_lock lock(mu_);
    if (!stopped_ && queue_.size() >= capacity_) {
      reader_waits_ = true;
      room_.wait(lock, [&] { return stopped_ || queue_.size() < capacity_; });
      reader_waits_ = false;
    }
    if (stopped_) return false;
    queue_.push_back(std::move(batch));
    // Only a waiting side is woken: a wake-up is a system call, and often a
    // switch of threads.
    if (stager_waits_) ready_.notify_one();
    return true;
  }

  // The reader is done: `status` is what the connector returned.
  void Close(Status status) {
    std::lock_guard lock(mu_);
    closed_ = true;
    final_ = std::move(status);
    if (stager_waits_) ready_.notify_one();
  }

  // Waits for the next batch; false once the reader closed and every batch
  // was taken.
  bool Pop(Batch& out) {
    std::unique_lock lock(mu_);
    if (!closed_ && queue_.empty()) {
      stager_waits_ = true;
      ready_.wait(lock, [&] { return closed_ || !queue_.empty(); });
      stager_waits_ = false;
    }
    if (queue_.empty()) return false;
    out = std::move(queue_.front());
    queue_.pop_front();
    if (reader_waits_) room_.notify_one();
    return true;
  }

  void Stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    room_.notify_all();
  }

  bool stopped() {
    std::lock_guard lock(mu_);
    return stopped_;
  }

  Status final_status() {
    std::lock_guard lock(mu_);
    return final_;
  }

 private:
  std::mutex mu_;
  std::condition_variable room_, ready_;
  std::deque<Batch> queue_;
  size_t capacity_;
  bool closed_ = false;
  bool stopped_ = false;
  bool reader_waits_ = false, stager_waits_ = false;
  Status final_;
};

Status StoppedByStaging() { return Fail(ErrorCode::kInternal, "the import was stopped by its staging side"); }

// The sink the connector sees on the reading thread: collects its calls
// into batches for the queue.
class ReadingSink final : public ImportSink {
 public:
  ReadingSink(BatchQueue& queue, const StagingTarget& target, size_t batch_items)
      : queue_(queue), target_(target), batch_items_(batch_items), context_(target.DigestContext()) {
    batch_.reserve(batch_items_);
  }

  Status OnRecord(ImportRecord&& record) override {
    Item& item = Next(Item::Kind::kRecord);
    item.prepared.record = std::move(record);
    target_.Prepare(item.prepared);
    return Added();
  }

  Status OnRecordError(const std::string& location, const std::string& message) override {
    Item& item = Next(Item::Kind::kError);
    item.prepared.record.location = location;
    item.message = message;
    return Added();
  }

  std::string DigestContext() const override { return context_; }

  Result<bool> OnUnchanged(const RecordDigest& digest, std::string_view location) override {
    int64_t id = target_.FindUnchanged(digest);
    if (id == 0) return false;
    Item& item = Next(Item::Kind::kUnchanged);
    item.prepared.record.location = location;
    item.unchanged_id = id;
    IDSYNC_TRY(Added());
    return true;
  }

  // Hands over what is left; false when the staging side stopped.
  bool Flush() {
    if (batch_.empty()) return true;
    bool pushed = queue_.Push(std::move(batch_));
    batch_ = Batch();
    batch_.reserve(batch_items_);
    return pushed;
  }

 private:
  Item& Next(Item::Kind kind) {
    Item& item = batch_.emplace_back();
    item.kind = kind;
    return item;
  }

  // A full batch crosses; a stop on the staging side fails the call, which
  // makes the connector return.
  Status Added() {
    if (batch_.size() < batch_items_) return {};
    if (!Flush()) return StoppedByStaging();
    return {};
  }

  BatchQueue& queue_;
  const StagingTarget& target_;
  size_t batch_items_;
  std::string context_;
  Batch batch_;
};

Status StageItem(StagingTarget& target, Item& item) {
  switch (item.kind) {
    case Item::Kind::kRecord:
      return target.Stage(std::move(item.prepared));
    case Item::Kind::kUnchanged:
      return target.StageUnchanged(item.unchanged_id, item.prepared.record.location);
    case Item::Kind::kError:
      return target.RecordError(item.prepared.record.location, item.message);
  }
  return {};
}

// Stops and joins the reading thread when the staging side leaves, by
// whatever path (a failure, an exception).
class ReaderGuard {
 public:
  ReaderGuard(BatchQueue& queue, std::thread& thread) : queue_(queue), thread_(thread) {}
  ~ReaderGuard() { Join(); }
  ReaderGuard(const ReaderGuard&) = delete;
  ReaderGuard& operator=(const ReaderGuard&) = delete;
  void Join() {
    queue_.Stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  BatchQueue& queue_;
  std::thread& thread_;
};

}  // namespace

Status RunImportPipeline(const std::function<Status(ImportSink&)>& read, StagingTarget& target,
                         PipelineOptions options) {
  BatchQueue queue(std::max<size_t>(options.queue_batches, 1));
  ReadingSink sink(queue, target, std::max<size_t>(options.batch_items, 1));
  std::thread reader([&] {
    pthread_setname_np(pthread_self(), "idsync-read");  // tells the threads apart in top -H and perf
    Status status;
    try {
      status = read(sink);
    } catch (const std::exception& e) {
      status = Fail(ErrorCode::kInternal, std::string("reading the source failed: ") + e.what());
    }
    // Records passed before the connector stopped are staged all the same,
    // as a sequential import stages them before it reports the stop.
    if (!sink.Flush()) status = StoppedByStaging();
    queue.Close(std::move(status));
  });
  ReaderGuard guard(queue, reader);

  Batch batch;
  while (queue.Pop(batch)) {
    for (Item& item : batch) {
      Status st = StageItem(target, item);
      if (!st) return st;  // the guard stops the reader and joins it
    }
    batch.clear();
  }
  guard.Join();
  return queue.final_status();
}

}  // namespace idsync
