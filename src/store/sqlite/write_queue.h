// store/sqlite/write_queue: runs a connection's sent writes on a thread of
// its own, in the order they were sent, while the caller goes on.
//
// Inside a write transaction the SQLite backend hands each Send'd statement
// (and each insert whose id it answered ahead, see sqlite_db.cc) to this
// queue with a copy of its bindings, instead of running it. The writer
// thread runs them on the same connection; the caller's thread touches the
// connection again only after Wait() has seen the queue empty and the
// thread idle. Every hand-over goes through one mutex, so each thread sees
// all that the other did to the connection (SQLite's multi-thread mode
// allows a connection to move between threads that way; it must never be
// used by two at once).
//
// The first failing write is kept: the writes queued after it are dropped
// (the transaction fails as a whole), and Wait() reports the error once.
// The thread is woken for a run of writes (kWakeAt), not for each one; a
// Wait() runs what the thread has not taken itself. The queue is bounded in
// writes (kMaxQueued) and in the bytes of their bindings (kMaxQueuedBytes):
// past either, Push waits until the thread takes the queue. A binding buffer
// that grew past kKeepBytes is released once its write has run, so the
// reused jobs do not keep the largest values ever written.
//
// Thread-safety: every member but the thread's loop on the caller's thread
// (the one that owns the connection). The thread starts with the first
// write; if it cannot start, Start() says so and the caller runs its writes
// at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace idsync {

// The error for SQLite result code `rc` of `what` ("statement", "open"...)
// on the database at `location`, with the connection's message when `db`.
Error SqliteError(sqlite3* db, int rc, std::string_view what, const std::string& location);

// A statement's parameters, kept until it runs (text and blobs copied).
class SqliteBindings {
 public:
  void Int(int index, int64_t value);
  void Text(int index, std::string_view value);
  void Blob(int index, std::string_view value);
  void Null(int index);
  void Clear();
  // The bytes of the text and blob values bound.
  size_t Bytes() const { return bytes_.size(); }
  // Clear(), and gives back the memory of a buffer grown past `keep` bytes.
  void ClearAndTrim(size_t keep);
  // Clears the statement's bindings and binds these (the bytes stay owned
  // here: they must not change until the statement has run).
  void ApplyTo(sqlite3_stmt* stmt) const;

 private:
  enum class Kind : uint8_t { kInt, kText, kBlob, kNull };
  struct Param {
    int index;
    Kind kind;
    int64_t value;  // kInt: the value; kText/kBlob: offset in bytes_
    size_t size;
  };
  std::vector<Param> params_;
  std::string bytes_;
};

class SqliteWriteQueue {
 public:
  // Queued writes at which Push waits for the thread to take them: a caller
  // that writes faster than the thread (a long transaction of confirmations)
  // must not hold all its writes, with their bindings, in memory.
  static constexpr size_t kMaxQueued = 16384;
  // The same bound in bytes of the queued writes' values: a batch of large
  // groups (a member list of a megabyte each) stops well before kMaxQueued.
  static constexpr size_t kMaxQueuedBytes = size_t{64} << 20;
  // A job's buffer larger than this is released after its write has run.
  static constexpr size_t kKeepBytes = size_t{64} << 10;

  // `db` and `location` (for messages) outlive the queue.
  SqliteWriteQueue(sqlite3* db, const std::string& location);
  // Drops what is queued and stops the thread.
  ~SqliteWriteQueue();
  SqliteWriteQueue(const SqliteWriteQueue&) = delete;
  SqliteWriteQueue& operator=(const SqliteWriteQueue&) = delete;

  // Starts the thread if it is not running; false when it cannot run (no
  // thread could be started, or SQLite was built without thread support):
  // the caller then runs its writes at once.
  bool Start();

  // Queues `stmt` with `bindings` (swapped in: the caller gets back a
  // cleared buffer, keeping its capacity). `expect_id`, when not 0: the
  // statement is an insert whose rowid was answered ahead; one that inserts
  // nothing or takes another rowid is reported by AnswersHeld(), or as an
  // error unless `may_not_insert` (StepAssumingInsert) or an earlier such
  // insert already failed (every later answer is then off).
  void Push(sqlite3_stmt* stmt, SqliteBindings& bindings, int64_t expect_id = 0,
            bool may_not_insert = false);

  // Waits until every queued write has run. Returns the first error of a
  // queued write since the last call that returned one (then forgotten).
  Status Wait();
  // Waits like Wait(), leaving an error for the next Wait().
  void WaitKeepingError();
  // Drops the queued writes that have not started, waits for the running
  // one, and forgets any error and failed answer (before a rollback).
  void Discard();
  // Whether every insert queued with an answered id did as answered, since
  // the last Discard() or ForgetAnswers(). Call after Wait().
  bool AnswersHeld() const { return answers_held_; }
  void ForgetAnswers() { answers_held_ = true; }

  // For tests: while paused, the thread runs nothing; Wait(), Discard() and
  // a Push that finds the queue full end the pause. Queued() counts the writes not yet started.
  void PauseForTesting();
  size_t QueuedForTesting();

 private:
  struct Job {
    sqlite3_stmt* stmt = nullptr;
    SqliteBindings bindings;
    int64_t expect_id = 0;
    bool may_not_insert = false;
  };
  // Jobs reused across batches, so that their buffers keep their capacity.
  struct Jobs {
    std::vector<Job> items;
    size_t size = 0;
    size_t bytes = 0;  // of the bindings of items[0, size)
    bool Full() const { return size >= kMaxQueued || bytes >= kMaxQueuedBytes; }
  };
  void Loop();
  void Run(Job& job);

  static constexpr size_t kWakeAt = 64;  // queued writes that wake a sleeping thread

  sqlite3* const db_;
  const std::string& location_;

  std::mutex mu_;
  std::condition_variable work_;  // the thread waits for jobs
  std::condition_variable idle_;  // the caller waits for the thread
  std::condition_variable room_;  // the caller waits for the thread to take the queue
  Jobs queued_;                   // guarded by mu_
  bool busy_ = false;             // the thread runs jobs taken from queued_
  bool thread_sleeps_ = false;
  bool caller_waits_ = false;
  bool caller_waits_room_ = false;
  bool paused_ = false;
  bool stop_ = false;
  // The thread writes these two only while busy_, the caller touches them
  // only while it is not (both under mu_ when busy_ changes).
  std::optional<Error> error_;  // the first failure, reported by Wait
  bool answers_held_ = true;
  std::atomic<bool> discard_{false};
  bool no_thread_ = false;
  std::thread thread_;
  Jobs running_;      // the thread's
  Jobs caller_runs_;  // what Wait() runs on the caller's thread
};

}  // namespace idsync
