#include "store/sqlite/wal_checkpointer.h"

#include <pthread.h>
#include <sqlite3.h>

#include <algorithm>

namespace idsync {

WalCheckpointer::WalCheckpointer(std::string path, int step_pages, int limit_pages)
    : path_(std::move(path)),
      step_pages_(std::max(1, step_pages)),
      limit_pages_(std::max(step_pages_, limit_pages)) {}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WalCheckpointer::Committed(sqlite3* writer, int log_pages) {
  if (log_pages < asked_at_pages_) asked_at_pages_ = 0;  // the log started over
  if (log_pages >= limit_pages_) {
    // Copy everything now, so that the next transaction starts the log
    // over: wait for the thread's checkpoint (a second one would find the
    // checkpoint lock taken and do nothing), then copy what it left.
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !running_; });
    asked_ = false;
    lock.unlock();
    sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    asked_at_pages_ = 0;
    ++forced_;
    return;
  }
  if (log_pages - asked_at_pages_ < step_pages_) return;
  asked_at_pages_ = log_pages;
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable() && !no_thread_) {
      // This runs inside SQLite's commit hook, where nothing may throw.
      try {
        thread_ = std::thread(&WalCheckpointer::Loop, this);
      } catch (const std::system_error&) {
        no_thread_ = true;
      }
    }
    if (!no_thread_) asked_ = true;
  }
  if (!no_thread_) {
    cv_.notify_all();
    return;
  }
  // No thread could be started (the process is at its limit of threads):
  // copy on this thread, as SQLite's own checkpoint would.
  sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
}

void WalCheckpointer::Drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !asked_ && !running_; });
}

int WalCheckpointer::checkpoints() const {
  std::lock_guard lock(mu_);
  return checkpoints_;
}

int WalCheckpointer::forced() const { return forced_; }

void WalCheckpointer::Loop() {
  pthread_setname_np(pthread_self(), "idsync-ckpt");  // tells the threads apart in top -H and perf
  // A checkpoint that fails (the file cannot be opened, an I/O error) is
  // left to the writer: at the limit it copies the log itself.
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(db);
    db = nullptr;
  }
  // As on the writing connection: a checkpoint syncs the log and the
  // database file at either setting; NORMAL keeps the two the same.
  if (db) sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return asked_ || stop_; });
    if (stop_) break;
    asked_ = false;
    running_ = true;
    lock.unlock();
    if (db) sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
    running_ = false;
    ++checkpoints_;
    cv_.notify_all();
  }
  lock.unlock();
  sqlite3_close_v2(db);
}

}  // namespace idsync
