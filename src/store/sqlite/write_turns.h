// store/sqlite/write_turns: fair turns at SQLite's write lock across
// processes.
//
// SQLite's busy handler sleeps and retries; a writer that commits and begins
// its next transaction at once (a long run, batch after batch) takes the
// lock again within microseconds, so a waiting writer (an activation, a
// configuration change) can miss every gap until the run ends. WriteTurns
// adds a side channel: a waiting writer holds a shared open-file-description
// lock on byte 0 of DB-turns while it waits, and a writer about to begin
// first lets such waiters go. Locks of a process that dies vanish with it,
// so nothing stale is ever left behind.
// Thread-safety: one WriteTurns per connection (per thread).
#pragma once

#include <chrono>
#include <string>

namespace idsync {

class WriteTurns {
 public:
  // Without a path (in-memory databases, read-only use) every call is a no-op.
  explicit WriteTurns(const std::string& db_path);
  ~WriteTurns();
  WriteTurns(const WriteTurns&) = delete;
  WriteTurns& operator=(const WriteTurns&) = delete;

  // Before beginning a write: while another connection waits for the lock,
  // wait (up to `patience`) so that it gets its turn.
  void YieldToWaiters(std::chrono::milliseconds patience);
  // While this connection waits for the lock, others can see it.
  void AnnounceWaiting();
  void StopWaiting();

 private:
  bool OthersWaiting();
  int fd_ = -1;
  bool announced_ = false;
};

}  // namespace idsync
