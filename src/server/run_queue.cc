#include "server/run_queue.h"

#include <spdlog/spdlog.h>

#include "engine/run_context.h"
#include "engine/runner.h"
#include "ha/roles.h"
#include "store/store.h"

namespace idsync {
namespace {

constexpr size_t kRecentOutcomes = 20;

nlohmann::json JobJson(const RunJob& job) {
  return {{"ma", job.ma}, {"profile", job.profile}, {"trigger", job.trigger}, {"epoch", job.epoch}};
}

}  // namespace

RunQueue::RunQueue(std::string db_url, std::string server, std::function<bool(const RunJob&)> may_start,
                   std::function<void(const RunOutcome&)> on_done)
    : db_url_(std::move(db_url)),
      server_(std::move(server)),
      may_start_(std::move(may_start)),
      on_done_(std::move(on_done)) {}

RunQueue::~RunQueue() {
  Close();
  Join();
}

void RunQueue::Start() {
  worker_ = std::thread([this] { Work(); });
}

bool RunQueue::Push(RunJob job) {
  std::lock_guard lock(mu_);
  if (closed_) return false;
  for (const auto& w : waiting_)
    if (w.ma == job.ma && w.profile == job.profile) return false;
  waiting_.push_back(std::move(job));
  cv_.notify_all();
  return true;
}

bool RunQueue::Has(const std::string& ma, const std::string& profile) const {
  std::lock_guard lock(mu_);
  if (running_ && running_->ma == ma && running_->profile == profile) return true;
  for (const auto& w : waiting_)
    if (w.ma == ma && w.profile == profile) return true;
  return false;
}

size_t RunQueue::DropQueued() {
  std::lock_guard lock(mu_);
  size_t n = waiting_.size();
  waiting_.clear();
  return n;
}

void RunQueue::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  waiting_.clear();
  cv_.notify_all();
}

bool RunQueue::Idle() const {
  std::lock_guard lock(mu_);
  return !running_ && waiting_.empty();
}

std::optional<RunJob> RunQueue::Running() const {
  std::lock_guard lock(mu_);
  return running_;
}

nlohmann::json RunQueue::Describe() const {
  std::lock_guard lock(mu_);
  nlohmann::json waiting = nlohmann::json::array();
  for (const auto& w : waiting_) waiting.push_back(JobJson(w));
  nlohmann::json running;
  if (running_) {
    running = JobJson(*running_);
    running["running_ms"] = NowMs() - running_since_ms_;
  }
  nlohmann::json recent = nlohmann::json::array();
  for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
    nlohmann::json o = JobJson(it->job);
    o["run"] = it->run_id ? nlohmann::json(it->run_id) : nlohmann::json();
    o["status"] = it->status;
    if (!it->message.empty()) o["message"] = it->message;
    o["duration_ms"] = it->ended_ms - it->started_ms;
    recent.push_back(std::move(o));
  }
  return {{"queued", waiting}, {"running", running}, {"recent", recent}};
}

void RunQueue::Join() {
  if (worker_.joinable()) worker_.join();
}

void RunQueue::Work() {
  while (true) {
    RunJob job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return closed_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // closed
      job = std::move(waiting_.front());
      waiting_.pop_front();
      running_ = job;
      running_since_ms_ = NowMs();
    }
    RunOutcome outcome = Execute(job);
    {
      std::lock_guard lock(mu_);
      running_.reset();
      recent_.push_back(outcome);
      if (recent_.size() > kRecentOutcomes) recent_.pop_front();
    }
    on_done_(outcome);
  }
}

RunOutcome RunQueue::Execute(const RunJob& job) {
  RunOutcome out{job, 0, "not-started", "", NowMs(), 0};
  auto done = [&](std::string status, std::string message) {
    out.status = std::move(status);
    out.message = std::move(message);
    out.ended_ms = NowMs();
    return out;
  };
  if (!may_start_(job))
    return done("not-started", "this server is no longer active at the epoch the run was queued at");
  // A Store per run: a connection a failed run leaves behind is never reused.
  auto store = Store::Open(db_url_, {});
  if (!store) return done("error", FormatError(store.error()));
  (*store)->FenceAs(server_, job.epoch);
  spdlog::info("run {}/{} starts ({}, epoch {})", job.ma, job.profile, job.trigger, job.epoch);
  RunRequest request;
  request.ma = job.ma;
  request.profile = job.profile;
  request.server = server_;
  auto result = RunProfile(**store, request);
  if (!result) {
    // A fenced write ends the run; its history record cannot be finished
    // by a deposed server (the new active server marks it when it takes
    // the MA's run lock).
    if (result.error().code == ErrorCode::kFenced) {
      spdlog::warn("run {}/{} ended {}: {}", job.ma, job.profile, run_status::kStoppedNotActive,
                   result.error().message);
      return done(run_status::kStoppedNotActive, result.error().message);
    }
    spdlog::error("run {}/{} failed: {}", job.ma, job.profile, FormatError(result.error()));
    return done("error", FormatError(result.error()));
  }
  out.run_id = result->run_id;
  auto level = result->status == run_status::kSuccess ? spdlog::level::info : spdlog::level::warn;
  spdlog::log(level, "run {} {}/{} ended {}", result->run_id, job.ma, job.profile, result->status);
  return done(result->status, "");
}

}  // namespace idsync
