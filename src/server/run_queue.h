// server/run_queue: the service's one worker thread, which runs queued run
// profiles one at a time (so two runs of one MA never overlap here; the run
// lock in the database keeps other processes out).
//
// The worker opens its own Store and fences it at the epoch each job was
// queued under, so a run of a deposed server fails at its next write
// transaction and ends "stopped-not-active". The engine cannot be
// cancelled: Close() drops what is queued and lets the running run finish.
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace idsync {

struct RunJob {
  std::string ma, profile;
  std::string trigger;  // "api" or the schedule's description
  int64_t epoch = 0;    // the epoch this server was active at when it was queued
  int64_t queued_ms = 0;
};

struct RunOutcome {
  RunJob job;
  int64_t run_id = 0;   // 0 when the run has no history record
  std::string status;   // the run's status, "not-started" or "error"
  std::string message;  // why, when the run did not end with a status
  int64_t started_ms = 0, ended_ms = 0;
};

class RunQueue {
 public:
  // `may_start` is asked just before a job starts (the role may have
  // changed since it was queued); `on_done` is called on the worker thread
  // after each job. Both must be thread-safe.
  RunQueue(std::string db_url, std::string server, std::function<bool(const RunJob&)> may_start,
           std::function<void(const RunOutcome&)> on_done);
  ~RunQueue();  // Close() and wait for the worker
  RunQueue(const RunQueue&) = delete;
  RunQueue& operator=(const RunQueue&) = delete;

  void Start();
  // False when the queue is closed or the same MA and profile already wait.
  bool Push(RunJob job);
  // A job of this MA and profile is waiting or running.
  bool Has(const std::string& ma, const std::string& profile) const;
  // Drops the waiting jobs (not the running one); returns how many.
  size_t DropQueued();
  // Accepts no more jobs and drops the waiting ones.
  void Close();
  bool Idle() const;
  // The job running now, if any.
  std::optional<RunJob> Running() const;
  // The queue, the running job and the last outcomes, for GET /api/v1/service.
  nlohmann::json Describe() const;
  // Waits for the worker to finish (after Close()).
  void Join();

 private:
  void Work();
  RunOutcome Execute(const RunJob& job);

  const std::string db_url_, server_;
  std::function<bool(const RunJob&)> may_start_;
  std::function<void(const RunOutcome&)> on_done_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<RunJob> waiting_;
  std::optional<RunJob> running_;
  int64_t running_since_ms_ = 0;
  std::deque<RunOutcome> recent_;
  bool closed_ = false;
  std::thread worker_;
};

}  // namespace idsync
