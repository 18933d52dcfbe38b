// store/sqlite/wal_checkpointer: copies a writing connection's write-ahead
// log back into the database file on a thread of its own.
//
// SQLite's automatic checkpoint runs on the committing thread: every few
// thousand pages the writer stops to read the log, write each page into the
// database file and sync both files. Here the writer's commits only report
// the log's length; a thread with its own connection runs PASSIVE
// checkpoints (they wait for no one and take no lock a writer needs) while
// the writer goes on, so the copying uses another core.
//
// Durability is SQLite's own: a checkpoint syncs the log before it copies
// and the database file before it marks the log as copied, and one cut
// short (a killed process) is simply redone from the log by the next
// connection. Committed transactions are in the log, which the checkpointer
// only reads.
//
// The log starts over from its beginning only when a writer begins a
// transaction while every committed page has been copied, which never
// happens by itself while a writer commits batch after batch (its next
// transaction begins before any other thread can copy the last one). So
// once the log has `limit_pages` pages, the writer, after its commit, waits
// for the running checkpoint and copies what is left itself; its next
// transaction then starts the log over. The log stays within about
// `limit_pages` plus one transaction.
//
// Thread-safety: Committed() on the writer's thread only (the thread that
// uses the writing connection); the destructor on that thread too, before
// the writing connection is closed. The thread starts on the first
// checkpoint, so short runs never start it.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

struct sqlite3;

namespace idsync {

class WalCheckpointer {
 public:
  // `path`: the database file. A checkpoint is asked for whenever the log
  // has grown by `step_pages` since the last one; `limit_pages` bounds the
  // log as described above (at least `step_pages`).
  WalCheckpointer(std::string path, int step_pages, int limit_pages);
  // Waits for a running checkpoint and stops the thread. The writing
  // connection's close then copies what is left (SQLite's last connection
  // checkpoints and removes the log).
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // After `writer` committed, leaving `log_pages` pages in the log.
  void Committed(sqlite3* writer, int log_pages);

  // For tests: waits until the thread has run every checkpoint asked for;
  // checkpoints the thread ran; times the writer copied the log itself at
  // the limit.
  void Drain();
  int checkpoints() const;
  int forced() const;

 private:
  void Loop();

  const std::string path_;
  const int step_pages_;
  const int limit_pages_;
  int asked_at_pages_ = 0;  // the log's length when a checkpoint was last asked for (writer's thread)
  int forced_ = 0;          // writer's thread

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool asked_ = false;    // a checkpoint is wanted
  bool running_ = false;  // the thread is checkpointing
  bool stop_ = false;
  bool no_thread_ = false;  // the thread could not be started: the writer copies
  int checkpoints_ = 0;
  std::thread thread_;
};

}  // namespace idsync
