// engine/export_pipe: the export's second thread.
//
// The engine's thread reads the pending exports from the store and confirms
// them (a Store is used by one thread only); a writer thread formats them
// and writes them through the connector. Between the two, a bounded queue of
// chunks: vectors, so that the threads meet once per chunk, not once per
// object, and the reader is never more than `capacity` chunks ahead.
//
// Either side can stop both, promptly:
// - the writer returns an error: Push() returns false from then on (also a
//   Push() waiting for room), and Finish() returns that error;
// - the engine fails (a read error): Cancel() makes the writer's Pop()
//   return false with cancelled() set, and the writer must then return
//   without making anything durable; Cancel() waits for it.
// The writer thread is joined on every path: by Finish(), by Cancel(), or by
// the destructor (which cancels first).
// Thread-safety: Push, Finish and Cancel on the engine's thread; Pop and
// cancelled on the writer's.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace idsync {

template <typename T>
class ExportPipe {
 public:
  using Chunk = std::vector<T>;

  // Starts the writer thread, which runs `write(*this)`; what it returns is
  // what Finish() returns.
  ExportPipe(size_t capacity, std::function<Status(ExportPipe&)> write) : capacity_(capacity) {
    thread_ = std::thread([this, write = std::move(write)] {
      Status st = write(*this);
      std::lock_guard lock(mu_);
      result_ = std::move(st);
      done_ = true;
      changed_.notify_all();
    });
  }
  ~ExportPipe() { Cancel(); }
  ExportPipe(const ExportPipe&) = delete;
  ExportPipe& operator=(const ExportPipe&) = delete;

  // Queues a chunk, waiting while the queue is full. false: the writer has
  // stopped (returned), and the chunk was dropped; Finish() tells why.
  bool Push(Chunk chunk) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return done_ || queue_.size() < capacity_; });
    if (done_) return false;
    queue_.push_back(std::move(chunk));
    changed_.notify_all();
    return true;
  }

  // Writer: the next chunk in `out`. false when the engine has finished and
  // every chunk was taken, or when it cancelled (cancelled() then says so).
  bool Pop(Chunk& out) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return cancelled_ || closed_ || !queue_.empty(); });
    if (cancelled_ || queue_.empty()) return false;
    out = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return true;
  }

  bool cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  // No more chunks: waits for the writer to take them all and return, and
  // returns what it returned.
  Status Finish() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      changed_.notify_all();
    }
    Join();
    std::lock_guard lock(mu_);
    return result_;
  }

  // Stops the writer (chunks not yet taken are dropped) and waits for it.
  void Cancel() {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      queue_.clear();
      changed_.notify_all();
    }
    Join();
  }

 private:
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Chunk> queue_;
  bool closed_ = false;     // the engine pushes no more
  bool cancelled_ = false;  // the engine gave up: write nothing durable
  bool done_ = false;       // the writer returned
  Status result_;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace idsync
