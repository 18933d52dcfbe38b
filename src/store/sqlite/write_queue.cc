#include "store/sqlite/write_queue.h"

#include <pthread.h>
#include <sqlite3.h>

#include <system_error>

#include <fmt/format.h>

namespace idsync {

Error SqliteError(sqlite3* db, int rc, std::string_view what, const std::string& location) {
  int base = rc & 0xff;
  if (base == SQLITE_BUSY || base == SQLITE_LOCKED) {
    return {ErrorCode::kBusy,
            fmt::format("database {} is locked by another process ({}); wait for it to finish or "
                        "stop it, then try again",
                        location, what)};
  }
  const char* message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (base == SQLITE_READONLY || base == SQLITE_CANTOPEN || base == SQLITE_PERM || base == SQLITE_IOERR ||
      base == SQLITE_FULL) {
    return {ErrorCode::kIo, fmt::format("database {}: {} failed: {}", location, what, message)};
  }
  return {ErrorCode::kDatabase, fmt::format("database {}: {} failed: {}", location, what, message)};
}

void SqliteBindings::Int(int index, int64_t value) { params_.push_back({index, Kind::kInt, value, 0}); }

void SqliteBindings::Text(int index, std::string_view value) {
  params_.push_back({index, Kind::kText, static_cast<int64_t>(bytes_.size()), value.size()});
  bytes_.append(value);
}

void SqliteBindings::Blob(int index, std::string_view value) {
  params_.push_back({index, Kind::kBlob, static_cast<int64_t>(bytes_.size()), value.size()});
  bytes_.append(value);
}

void SqliteBindings::Null(int index) { params_.push_back({index, Kind::kNull, 0, 0}); }

void SqliteBindings::Clear() {
  params_.clear();
  bytes_.clear();
}

void SqliteBindings::ClearAndTrim(size_t keep) {
  Clear();
  if (bytes_.capacity() > keep) std::string().swap(bytes_);
}

void SqliteBindings::ApplyTo(sqlite3_stmt* stmt) const {
  sqlite3_clear_bindings(stmt);
  for (const Param& p : params_) {
    const char* at = bytes_.data() + p.value;
    int size = static_cast<int>(p.size);
    switch (p.kind) {
      case Kind::kInt:
        sqlite3_bind_int64(stmt, p.index, p.value);
        break;
      case Kind::kText:
        sqlite3_bind_text(stmt, p.index, at, size, SQLITE_STATIC);
        break;
      case Kind::kBlob:
        sqlite3_bind_blob(stmt, p.index, at, size, SQLITE_STATIC);
        break;
      case Kind::kNull:
        sqlite3_bind_null(stmt, p.index);
        break;
    }
  }
}

SqliteWriteQueue::SqliteWriteQueue(sqlite3* db, const std::string& location) : db_(db), location_(location) {}

SqliteWriteQueue::~SqliteWriteQueue() {
  Discard();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SqliteWriteQueue::Start() {
  if (thread_.joinable()) return true;
  if (no_thread_) return false;
  // Built without thread support, a connection must stay on one thread.
  if (sqlite3_threadsafe() == 0) {
    no_thread_ = true;
    return false;
  }
  try {
    thread_ = std::thread(&SqliteWriteQueue::Loop, this);
  } catch (const std::system_error&) {
    no_thread_ = true;
    return false;
  }
  return true;
}

void SqliteWriteQueue::Push(sqlite3_stmt* stmt, SqliteBindings& bindings, int64_t expect_id, bool may_not_insert) {
  bool wake;
  {
    std::unique_lock lock(mu_);
    if (queued_.Full()) {
      paused_ = false;  // a test's pause ends here too, as in Wait()
      if (thread_sleeps_) {
        thread_sleeps_ = false;
        work_.notify_one();
      }
      caller_waits_room_ = true;
      room_.wait(lock, [&] { return !queued_.Full() || stop_; });
      caller_waits_room_ = false;
    }
    if (queued_.size == queued_.items.size()) queued_.items.emplace_back();
    Job& job = queued_.items[queued_.size++];
    job.stmt = stmt;
    queued_.bytes += bindings.Bytes();
    std::swap(job.bindings, bindings);
    job.expect_id = expect_id;
    job.may_not_insert = may_not_insert;
    // A sleeping thread is woken for a run of writes, not for each one:
    // a wake-up costs both threads a system call and a context switch.
    wake = thread_sleeps_ && !paused_ && queued_.size >= kWakeAt;
    if (wake) thread_sleeps_ = false;  // one wake-up is enough
  }
  bindings.Clear();
  if (wake) work_.notify_one();
}

void SqliteWriteQueue::WaitKeepingError() {
  std::unique_lock lock(mu_);
  if (queued_.size == 0 && !busy_) return;
  paused_ = false;
  // The writes the thread has taken run there; the caller waits for them.
  if (busy_) {
    caller_waits_ = true;
    idle_.wait(lock, [&] { return !busy_; });
    caller_waits_ = false;
  }
  // What is still queued the caller runs itself: waking the thread for it
  // and waiting would cost two context switches, and much longer on a
  // loaded machine, where the woken thread may wait for a core.
  if (queued_.size == 0) return;
  std::swap(queued_, caller_runs_);
  lock.unlock();
  bool failed = error_.has_value();
  for (size_t i = 0; i < caller_runs_.size && !failed; ++i) {
    Run(caller_runs_.items[i]);
    failed = error_.has_value();
  }
  caller_runs_.size = 0;
  caller_runs_.bytes = 0;
}

Status SqliteWriteQueue::Wait() {
  WaitKeepingError();
  if (!error_) return {};
  Error e = std::move(*error_);
  error_.reset();
  return tl::unexpected(std::move(e));
}

void SqliteWriteQueue::Discard() {
  std::unique_lock lock(mu_);
  paused_ = false;
  queued_.size = 0;
  queued_.bytes = 0;
  discard_.store(true, std::memory_order_relaxed);
  caller_waits_ = true;
  idle_.wait(lock, [&] { return !busy_; });
  caller_waits_ = false;
  discard_.store(false, std::memory_order_relaxed);
  error_.reset();
  answers_held_ = true;
}

void SqliteWriteQueue::PauseForTesting() {
  std::lock_guard lock(mu_);
  paused_ = true;
}

size_t SqliteWriteQueue::QueuedForTesting() {
  std::lock_guard lock(mu_);
  return queued_.size;
}

void SqliteWriteQueue::Loop() {
  pthread_setname_np(pthread_self(), "idsync-write");  // tells the threads apart in top -H and perf
  std::unique_lock lock(mu_);
  while (true) {
    // Whoever wakes the thread clears thread_sleeps_; it is set again
    // before every sleep, a spurious wake-up's too.
    while (!stop_ && (queued_.size == 0 || paused_)) {
      thread_sleeps_ = true;
      work_.wait(lock);
    }
    thread_sleeps_ = false;
    if (stop_) break;
    std::swap(queued_, running_);
    busy_ = true;
    if (caller_waits_room_) room_.notify_one();
    bool failed = error_.has_value();
    lock.unlock();
    // After a failure the rest is dropped: the transaction fails as a whole.
    for (size_t i = 0; i < running_.size && !failed; ++i) {
      if (discard_.load(std::memory_order_relaxed)) break;
      Run(running_.items[i]);
      failed = error_.has_value();
    }
    running_.size = 0;
    running_.bytes = 0;
    lock.lock();
    busy_ = false;
    if (caller_waits_ && queued_.size == 0) idle_.notify_one();
  }
}

// On the thread, with busy_ set: the caller does not touch the connection,
// error_ or answers_held_ until it has seen busy_ cleared. Or on the
// caller's thread, with the queue empty and the thread idle (it takes no
// work before the caller queues more).
void SqliteWriteQueue::Run(Job& job) {
  job.bindings.ApplyTo(job.stmt);
  int rc = sqlite3_step(job.stmt);
  while (rc == SQLITE_ROW) rc = sqlite3_step(job.stmt);  // rows nobody reads
  if (rc != SQLITE_DONE) {
    error_ = SqliteError(db_, rc, "statement", location_);
    sqlite3_reset(job.stmt);
    job.bindings.ClearAndTrim(kKeepBytes);
    return;
  }
  if (job.expect_id != 0) {
    bool inserted = sqlite3_changes64(db_) > 0;
    bool as_answered = inserted && sqlite3_last_insert_rowid(db_) == job.expect_id;
    if (!as_answered) {
      // Once an insert answered ahead did not insert, the ids answered
      // after it are off by one: that is the same failed answer.
      if (!job.may_not_insert && answers_held_) {
        error_ = Error{ErrorCode::kInternal,
                       fmt::format("database {}: an insert took id {}, not the id {} answered ahead", location_,
                                   inserted ? sqlite3_last_insert_rowid(db_) : 0, job.expect_id)};
      }
      answers_held_ = false;
    }
  }
  sqlite3_reset(job.stmt);
  job.bindings.ClearAndTrim(kKeepBytes);
}

}  // namespace idsync
