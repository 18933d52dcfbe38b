#include "engine/sync.h"

#include <set>

#include <fmt/format.h>

#include "engine/run_context.h"
#include "engine/synchronizer.h"

namespace idsync {
namespace {

// Runs Process for each object inside the open transaction, each under a
// savepoint. Object errors are recorded and leave the object pending.
// Returns kLimit once the error limit is passed (the batch is kept).
Status ProcessBatch(RunContext& ctx, Synchronizer& sync, std::vector<CsObject>& batch, bool final_pass,
                    std::vector<int64_t>& deferred) {
  for (auto& cs : batch) {
    IDSYNC_TRY(ctx.store.Savepoint());
    bool defer = false;
    auto st = sync.Process(cs, final_pass, &defer);
    if (!st) {
      IDSYNC_TRY(ctx.store.RollbackToSavepoint());
      sync.TakeWoken();  // what this object woke was rolled back with it
      if (st.error().code != ErrorCode::kInvalidArgument && st.error().code != ErrorCode::kLimit)
        return st;
      IDSYNC_TRY(ctx.ObjectError(cs.anchor, cs.dn, "sync-error", st.error().message));
      continue;
    }
    IDSYNC_TRY(ctx.store.ReleaseSavepoint());
    if (defer) deferred.push_back(cs.id);
    for (int64_t id : sync.TakeWoken()) deferred.push_back(id);
  }
  ctx.counters.processed += batch.size();
  if (ctx.progress) ctx.progress(final_pass ? "sync (references)" : "sync", ctx.counters.processed);
  return {};
}

// Turns the error limit into a flag (the batch was committed); other errors pass.
Status KeepGoing(Status st, bool* limit_reached) {
  if (!st && st.error().code == ErrorCode::kLimit) {
    *limit_reached = true;
    return {};
  }
  return st;
}

}  // namespace

Result<std::string> RunSync(RunContext& ctx, bool full) {
  Synchronizer sync(ctx);
  IDSYNC_TRY(ctx.store.WithWrite([&] { return sync.Init(); }));
  std::vector<int64_t> deferred;
  bool limit = false;
  CsQuery q;
  q.ma_id = ctx.ma_id;
  q.pending_import_only = !full;
  q.limit = static_cast<int>(ctx.batch_size);
  while (!limit) {
    bool empty = false;
    IDSYNC_TRY(KeepGoing(ctx.CommitKeepingLimit([&]() -> Status {
      IDSYNC_ASSIGN(auto batch, ctx.store.ListCs(q));
      if (batch.empty()) {
        empty = true;
        return {};
      }
      q.after_id = batch.back().id;
      return ProcessBatch(ctx, sync, batch, /*final_pass=*/false, deferred);
    }), &limit));
    if (empty) break;
  }
  // Second pass: objects whose references pointed at objects not yet linked,
  // and objects woken because what they referred to was linked meanwhile
  // (which may wake more, so this drains a queue).
  std::vector<int64_t> queue;
  std::set<int64_t> queued;
  auto enqueue = [&](const std::vector<int64_t>& ids) {
    for (int64_t id : ids)
      if (queued.insert(id).second) queue.push_back(id);
  };
  enqueue(deferred);
  for (size_t i = 0; i < queue.size() && !limit; i += ctx.batch_size) {
    std::vector<int64_t> more;
    IDSYNC_TRY(KeepGoing(ctx.CommitKeepingLimit([&]() -> Status {
      std::vector<CsObject> batch;
      for (size_t j = i; j < std::min(queue.size(), i + ctx.batch_size); ++j) {
        IDSYNC_ASSIGN(auto cs, ctx.store.GetCs(queue[j]));
        if (cs && cs->ma_id == ctx.ma_id) batch.push_back(std::move(*cs));
      }
      ctx.counters.processed -= batch.size();  // counted in the first pass
      return ProcessBatch(ctx, sync, batch, /*final_pass=*/true, more);
    }), &limit));
    // Objects woken by this batch are synchronized again, even those
    // already handled in this pass.
    for (int64_t id : more) queued.erase(id);
    enqueue(more);
  }
  if (limit) return std::string(run_status::kStoppedErrorLimit);
  return std::string(ctx.counters.errors ? run_status::kCompletedSyncErrors : run_status::kSuccess);
}

}  // namespace idsync
