#include "engine/sync.h"

#include <functional>
#include <optional>
#include <set>
#include <span>

#include <fmt/format.h>

#include "engine/run_context.h"
#include "engine/synchronizer.h"

namespace idsync {
namespace {

// Reads a batch's objects inside its transaction (again, when it is redone).
using BatchLoader = std::function<Result<std::vector<CsObject>>()>;

// An object's failure that is recorded against it instead of stopping the step.
bool IsObjectError(const Error& e) { return e.code == ErrorCode::kInvalidArgument || e.code == ErrorCode::kLimit; }

// Runs Process for each object inside the open transaction. Unless
// `isolate`, the first object error is returned as it is (the caller undoes
// the whole batch). With `isolate`, each object runs under a savepoint: an
// object error is recorded, undone and leaves the object pending, and
// kLimit comes back once the error limit is passed (the batch is kept).
//
// A failed object's writes are undone, so what was read ahead for the
// objects after it may no longer be true: it is read again (Prefetch
// replaces what the cache held) for a window of the objects that follow
// (64, doubling at each end of a window reached), not for all of them, so
// that a batch with many failing objects does not read its rest again for
// every failure.
Status ProcessObjects(RunContext& ctx, Synchronizer& sync, std::vector<CsObject>& batch, bool final_pass,
                      bool isolate, std::vector<int64_t>& deferred) {
  constexpr size_t kFirstWindow = 64;
  size_t window = kFirstWindow;
  size_t read_ahead_to = batch.size();  // objects before this index were read ahead
  auto read_ahead = [&](size_t from) -> Status {
    read_ahead_to = std::min(batch.size(), from + window);
    window *= 2;
    return sync.Prefetch(std::span<const CsObject>(batch).subspan(from, read_ahead_to - from));
  };
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& cs = batch[i];
    if (i == read_ahead_to) IDSYNC_TRY(read_ahead(i));
    if (isolate) IDSYNC_TRY(ctx.store.Savepoint());
    bool defer = false;
    auto st = sync.Process(cs, final_pass, &defer);
    if (!st) {
      if (!isolate) return st;
      IDSYNC_TRY(ctx.store.RollbackToSavepoint());
      sync.TakeWoken();  // what this object woke was rolled back with it
      window = kFirstWindow;
      IDSYNC_TRY(read_ahead(i + 1));
      if (!IsObjectError(st.error())) return st;
      IDSYNC_TRY(ctx.ObjectError(cs.anchor, cs.dn, "sync-error", st.error().message));
      continue;
    }
    if (isolate) IDSYNC_TRY(ctx.store.ReleaseSavepoint());
    if (defer) deferred.push_back(cs.id);
    for (int64_t id : sync.TakeWoken()) deferred.push_back(id);
  }
  // The second pass looks again at objects the first pass counted.
  if (!final_pass) ctx.counters.processed += batch.size();
  if (ctx.progress) ctx.progress(final_pass ? "sync (references)" : "sync", ctx.counters.processed);
  return {};
}

// Synchronizes one batch in one write transaction. Savepoints around every
// object would cost a copy of each page an object touches, so the batch
// first runs without them; only when an object fails is the transaction
// rolled back and the batch run again with each object under a savepoint,
// which gives exactly the outcome of isolating every object from the start.
//
// Unless `careful`, that first run assumes every object it provisions is new
// (Store::AssumeProvisionedNew), so that a backend which sends writes without
// waiting need not wait for each provisioned insert's answer, and the
// batch's writes go to the database together. Before it commits, the store
// tells whether every such object was new. If one was not (its anchor was
// taken in the target: FlowOutTo links an unlinked object with that anchor
// or fails the object), the run is rolled back and the batch runs again
// with each insert answered exactly, which gives exactly what that run
// gives; `careful` is then set, for the rest of the step, so that a target
// full of such objects does not run every batch twice. The runs with
// savepoints are always careful.
// Returns kLimit (after committing) once the error limit is passed.
Status RunBatch(RunContext& ctx, Synchronizer& sync, const BatchLoader& load, bool final_pass,
                std::vector<int64_t>& deferred, bool& careful) {
  const RunCounters counters_before = ctx.counters;
  const size_t deferred_before = deferred.size();
  // Nothing of a failed run of the batch is kept, in the database or here.
  auto forget_run = [&] {
    ctx.counters = counters_before;
    deferred.resize(deferred_before);
    sync.TakeWoken();
  };
  auto process = [&](bool isolate) -> Status {
    IDSYNC_ASSIGN(auto batch, load());
    IDSYNC_TRY(sync.Prefetch(batch));
    return ProcessObjects(ctx, sync, batch, final_pass, isolate, deferred);
  };
  bool object_failed = false;
  if (!careful) {
    bool not_new = false;
    ctx.store.AssumeProvisionedNew(true);
    auto assuming = ctx.store.WithWrite([&]() -> Status {
      auto st = process(/*isolate=*/false);
      object_failed = !st && IsObjectError(st.error());
      if (object_failed) return st;  // run again with savepoints, which are careful
      // Any other outcome may stem from the assumption too: ask first.
      auto held = ctx.store.ProvisionedInsertsHeld();
      if (held && !*held) {
        not_new = true;
        return Fail(ErrorCode::kInternal, "a provisioned object was not new");
      }
      if (!st) return st;
      return held.map([](bool) {});
    });
    ctx.store.AssumeProvisionedNew(false);
    sync.DropCache();  // true only inside the transaction that read it
    if (assuming || !(not_new || object_failed)) return assuming;
    forget_run();
    if (not_new) careful = true;
  }
  if (!object_failed) {
    auto whole = ctx.store.WithWrite([&]() -> Status {
      auto st = process(/*isolate=*/false);
      object_failed = !st && IsObjectError(st.error());
      return st;
    });
    sync.DropCache();
    if (whole || !object_failed) return whole;
    forget_run();
  }
  auto isolated = ctx.CommitKeepingLimit([&] { return process(/*isolate=*/true); });
  sync.DropCache();
  return isolated;
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
  bool careful = false;  // see RunBatch
  CsQuery q;
  q.ma_id = ctx.ma_id;
  q.pending_import_only = !full;
  q.limit = static_cast<int>(ctx.batch_size);
  while (!limit) {
    std::optional<int64_t> last;
    auto load = [&]() -> Result<std::vector<CsObject>> {
      IDSYNC_ASSIGN(auto batch, ctx.store.ListCs(q));
      if (!batch.empty()) last = batch.back().id;
      return batch;
    };
    IDSYNC_TRY(KeepGoing(RunBatch(ctx, sync, load, /*final_pass=*/false, deferred, careful), &limit));
    if (!last) break;
    q.after_id = *last;
  }
  // Second pass: objects whose references pointed at objects not yet linked,
  // and objects woken because what they referred to was linked meanwhile
  // (which may wake more, so this drains a queue). Waking and deferring
  // leave an object pending; one found no longer pending was synchronized
  // after that, with nothing left unresolved, and is not looked at again.
  std::vector<int64_t> queue;
  std::set<int64_t> queued;
  auto enqueue = [&](const std::vector<int64_t>& ids) {
    for (int64_t id : ids)
      if (queued.insert(id).second) queue.push_back(id);
  };
  enqueue(deferred);
  for (size_t i = 0; i < queue.size() && !limit; i += ctx.batch_size) {
    std::vector<int64_t> more;
    auto load = [&]() -> Result<std::vector<CsObject>> {
      std::vector<CsObject> batch;
      for (size_t j = i; j < std::min(queue.size(), i + ctx.batch_size); ++j) {
        IDSYNC_ASSIGN(auto cs, ctx.store.GetCs(queue[j]));
        if (cs && cs->ma_id == ctx.ma_id && cs->pending_import != PendingImport::kNone)
          batch.push_back(std::move(*cs));
      }
      return batch;
    };
    IDSYNC_TRY(KeepGoing(RunBatch(ctx, sync, load, /*final_pass=*/true, more, careful), &limit));
    // Objects woken by this batch are synchronized again, even those
    // already handled in this pass.
    for (int64_t id : more) queued.erase(id);
    enqueue(more);
  }
  if (limit) return std::string(run_status::kStoppedErrorLimit);
  return std::string(ctx.counters.errors ? run_status::kCompletedSyncErrors : run_status::kSuccess);
}

}  // namespace idsync
