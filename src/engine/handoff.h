// engine/handoff: a bounded queue of chunks from one producing thread to one
// consuming thread, used by the import (the reading thread produces records
// for the staging thread) and the export (the engine's thread produces rows
// for the writer thread).
//
// Chunks (vectors of items) cross, not single items, so the threads meet
// once per chunk; the producer is never more than `capacity` chunks ahead.
// Either side can give up, and the other learns it at its next call:
// - the consumer calls Stop(): Push() returns false from then on, also a
//   Push() already waiting for room;
// - the producer calls Cancel(): the chunks not yet taken are dropped and
//   Pop() returns false with cancelled() set.
// A side is woken only when it waits: a wake-up is a system call, and often
// a switch of threads.
// Thread-safety: Push, Close and Cancel on the producing thread; Pop and
// Stop on the consuming one (Stop also from the producer's side once the
// consumer is gone); cancelled from either.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

namespace idsync {

template <typename Chunk>
class Handoff {
 public:
  explicit Handoff(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;

  // Queues a chunk, waiting while the queue is full. false: the consumer
  // stopped, and the chunk was dropped.
  bool Push(Chunk&& chunk) {
    std::unique_lock lock(mu_);
    if (!stopped_ && queue_.size() >= capacity_) {
      producer_waits_ = true;
      room_.wait(lock, [&] { return stopped_ || queue_.size() < capacity_; });
      producer_waits_ = false;
    }
    if (stopped_) return false;
    queue_.push_back(std::move(chunk));
    if (consumer_waits_) ready_.notify_one();
    return true;
  }

  // The producer is done; the consumer takes what is queued, then Pop()
  // returns false.
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    if (consumer_waits_) ready_.notify_one();
  }

  // The producer gives up: what is queued is dropped and Pop() returns false.
  void Cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    queue_.clear();
    ready_.notify_all();
  }

  // Waits for the next chunk. false once the producer closed and every
  // chunk was taken, or when it cancelled.
  bool Pop(Chunk& out) {
    std::unique_lock lock(mu_);
    if (!cancelled_ && !closed_ && queue_.empty()) {
      consumer_waits_ = true;
      ready_.wait(lock, [&] { return cancelled_ || closed_ || !queue_.empty(); });
      consumer_waits_ = false;
    }
    if (cancelled_ || queue_.empty()) return false;
    out = std::move(queue_.front());
    queue_.pop_front();
    if (producer_waits_) room_.notify_one();
    return true;
  }

  // The consumer gives up (or is gone): Push() fails from now on.
  void Stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    room_.notify_all();
  }

  bool cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable room_, ready_;
  std::deque<Chunk> queue_;
  bool closed_ = false;
  bool cancelled_ = false;
  bool stopped_ = false;
  bool producer_waits_ = false, consumer_waits_ = false;
};

}  // namespace idsync
