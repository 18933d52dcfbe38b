#include "engine/import_pipeline.h"

#include <pthread.h>

#include <exception>
#include <thread>
#include <utility>
#include <vector>

#include "engine/handoff.h"

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

using BatchQueue = Handoff<Batch>;

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
  BatchQueue queue(options.queue_batches);
  Status final_status;
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
    final_status = std::move(status);  // read after the thread is joined
    queue.Close();
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
  return final_status;
}

}  // namespace idsync
