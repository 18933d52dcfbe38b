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

#include <functional>
#include <thread>
#include <vector>

#include "core/error.h"
#include "engine/handoff.h"

namespace idsync {

template <typename T>
class ExportPipe {
 public:
  using Chunk = std::vector<T>;

  // Starts the writer thread, which runs `write(*this)`; what it returns is
  // what Finish() returns.
  ExportPipe(size_t capacity, std::function<Status(ExportPipe&)> write) : queue_(capacity) {
    thread_ = std::thread([this, write = std::move(write)] {
      result_ = write(*this);
      queue_.Stop();  // the writer is gone: pushes fail from now on
    });
  }
  ~ExportPipe() { Cancel(); }
  ExportPipe(const ExportPipe&) = delete;
  ExportPipe& operator=(const ExportPipe&) = delete;

  // Queues a chunk, waiting while the queue is full. false: the writer has
  // stopped (returned), and the chunk was dropped; Finish() tells why.
  bool Push(Chunk chunk) { return queue_.Push(std::move(chunk)); }

  // Writer: the next chunk in `out`. false when the engine has finished and
  // every chunk was taken, or when it cancelled (cancelled() then says so).
  bool Pop(Chunk& out) { return queue_.Pop(out); }

  bool cancelled() const { return queue_.cancelled(); }

  // No more chunks: waits for the writer to take them all and return, and
  // returns what it returned.
  Status Finish() {
    queue_.Close();
    Join();
    return result_;
  }

  // Stops the writer (chunks not yet taken are dropped) and waits for it.
  void Cancel() {
    queue_.Cancel();
    Join();
  }

 private:
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  Handoff<Chunk> queue_;
  Status result_;       // written by the writer thread, read after joining it
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace idsync
