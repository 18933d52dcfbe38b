#include "engine/import.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <unordered_set>

#include <fmt/format.h>

#include "connectors/connector.h"
#include "engine/flat_tables.h"
#include "engine/import_pipeline.h"
#include "engine/run_context.h"
#include "engine/seen_ids.h"

namespace idsync {
namespace {

// Applies one attribute-level change to an attribute map.
void ApplyChange(AttributeMap& attrs, const AttributeChange& c) {
  switch (c.op) {
    case AttributeChange::Op::kReplace:
      attrs[c.name] = c.values;
      break;
    case AttributeChange::Op::kAdd: {
      auto& vals = attrs[c.name];
      for (const auto& v : c.values)
        if (std::find(vals.begin(), vals.end(), v) == vals.end()) vals.push_back(v);
      break;
    }
    case AttributeChange::Op::kDelete: {
      auto it = attrs.find(c.name);
      if (it == attrs.end()) break;
      if (c.values.empty()) {
        attrs.erase(it);
      } else {
        std::erase_if(it->second, [&](const std::string& v) {
          return std::find(c.values.begin(), c.values.end(), v) != c.values.end();
        });
      }
      break;
    }
  }
  Normalize(attrs);
}

std::string_view DigestBytes(const RecordDigest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

// What decides how a whole record is staged, besides the record itself: the
// object types and their anchors (see StagingSink::StageFull). A change here
// makes every stored digest differ from the records' new ones.
std::string StagingContext(const ManagementAgent& ma) {
  std::string context = "idsync import 1";
  for (const auto& t : ma.object_types) {
    context += '\0';
    context += t.name;
    context += '\0';
    context += t.anchor;
  }
  return context;
}

// Whole-state imports (`full`) record the digest of the record each object
// was staged from. With `trust_digests` (the delta import of a source without
// a change log), a record whose digest is stored for an object is taken as
// unchanged without being built or compared: the object's state was staged
// from that very record, and every other write of the state forgets the
// digest (store.h).
//
// The connector runs on a reading thread of its own (import_pipeline.h):
// there the digests are looked up (read only after Start) and each whole
// record is normalized and encoded (Prepare); the rest runs on the thread
// that owns the store.
class StagingSink final : public StagingTarget {
 public:
  StagingSink(RunContext& ctx, bool full, bool trust_digests = false)
      : ctx_(ctx), full_(full), trust_digests_(full && trust_digests) {}

  // Reads the digests of the MA's objects when they are to be trusted.
  Status Start() {
    if (!trust_digests_) return {};
    // Sized up front: growing a table of a million entries rehashes it
    // again and again, each time touching every bucket.
    IDSYNC_ASSIGN(int64_t objects, ctx_.store.CountCs(ctx_.ma_id));
    digests_.Reserve(static_cast<size_t>(objects));
    seen_.Reserve(static_cast<size_t>(objects));
    IDSYNC_TRY(ctx_.store.ForEachImportDigest(ctx_.ma_id, [&](std::string_view bytes, int64_t id) {
      RecordDigest digest{};
      if (bytes.size() != digest.size()) return;
      std::memcpy(digest.data(), bytes.data(), digest.size());
      digests_.Add(digest, id);  // two objects, one digest: both compared in full
    }));
    return {};
  }

  // ---- reading thread
  std::string DigestContext() const override { return full_ ? StagingContext(ctx_.ma) : std::string(); }

  int64_t FindUnchanged(const RecordDigest& digest) const override { return digests_.Find(digest); }

  // A whole record is compared and stored by its encoding: made here, with
  // its anchor, so the staging thread neither builds nor frees attribute
  // maps for it.
  void Prepare(PreparedRecord& p) const override {
    ImportRecord& r = p.record;
    if (r.kind != ImportRecord::Kind::kFull) return;
    Normalize(r.attrs);
    if (const MaObjectType* type = FindTypeOf(r)) p.anchor = RecordAnchor(r, *type);
    p.encoded = EncodeAttributes(r.attrs);
    r.attrs = AttributeMap();
  }

  // ---- staging thread
  Status StageUnchanged(int64_t id, std::string_view location) override {
    // Queued in source order: whether it repeats an anchor depends on the
    // records before it.
    Queued& q = batch_.emplace_back();
    q.p.record.location = location;
    q.unchanged_id = id;
    return AfterQueued();
  }

  Status Stage(PreparedRecord&& p) override {
    batch_.emplace_back().p = std::move(p);
    return AfterQueued();
  }

  Status RecordError(const std::string& location, const std::string& message) override {
    return ctx_.ObjectError("", location, "read-error", message);
  }

  Status Flush() {
    if (batch_.empty()) return {};
    auto stage_batch = [&]() -> Status {
      IDSYNC_TRY(ReadStates());
      for (auto& q : batch_) IDSYNC_TRY(q.unchanged_id ? CountUnchanged(q.unchanged_id, q.p.record) : StageQueued(q));
      return {};
    };
    // A batch of unchanged records writes nothing: no transaction.
    bool writes = std::any_of(batch_.begin(), batch_.end(), [](const Queued& q) { return q.unchanged_id == 0; });
    // Reaching the error limit stops the import but keeps what was staged.
    Status limit = writes ? ctx_.CommitKeepingLimit(stage_batch) : stage_batch();
    if (!limit && limit.error().code != ErrorCode::kLimit) return limit;
    ctx_.counters.processed += batch_.size();
    batch_.clear();
    if (ctx_.progress) ctx_.progress("import", ctx_.counters.processed);
    return limit;
  }

  const SeenIds& seen() const { return seen_; }

 private:
  // A record to stage, or (unchanged_id set) one taken as unchanged.
  struct Queued {
    PreparedRecord p;
    int64_t unchanged_id = 0;
    // Set by ReadStates for the first record of an anchor in the batch: its
    // staged state, as read before the batch (nullopt: none).
    bool state_read = false;
    std::optional<Store::ImportedState> state;
  };

  // After a record was queued (built in place in the batch: a queued
  // record is large, and most are unchanged ones that carry only a location).
  Status AfterQueued() {
    if (batch_.size() >= ctx_.batch_size) return Flush();
    return {};
  }

  // The record's object type (the only one when it names none), or null.
  const MaObjectType* FindTypeOf(const ImportRecord& r) const {
    if (r.object_type.empty() && ctx_.ma.object_types.size() == 1) return &ctx_.ma.object_types[0];
    return ctx_.FindType(r.object_type);
  }

  // The anchor a record of `type` carries itself (empty when it has none).
  static std::string RecordAnchor(const ImportRecord& r, const MaObjectType& type) {
    return EqualsIgnoreCase(type.anchor, "dn") ? r.dn : std::string(FirstValue(r.attrs, type.anchor));
  }

  Result<const MaObjectType*> TypeOf(const ImportRecord& r) {
    const MaObjectType* t = FindTypeOf(r);
    if (!t) {
      IDSYNC_TRY(ctx_.ObjectError(r.dn, r.location, "unknown-object-type",
                                  fmt::format("object type '{}' is not configured for MA '{}'",
                                              r.object_type, ctx_.ma.name)));
    }
    return t;
  }

  // The staged states of the batch's records, read in a few statements
  // instead of one per record (on PostgreSQL one round trip each), when
  // every record to stage has the object's whole state: then only the
  // batch's own writes change them. Each state goes to the first record of
  // its anchor; a later one reads it from the store when it is staged, after
  // the first one's write (see TakeState). Change records may rename
  // objects, so a batch with any is staged as before, one lookup per record.
  Status ReadStates() {
    std::vector<std::string_view> anchors;
    anchors.reserve(batch_.size());
    for (const auto& q : batch_) {
      if (q.unchanged_id) continue;
      if (q.p.record.kind != ImportRecord::Kind::kFull) return {};
      // As Prepare found it; a record without one is reported by Stage.
      if (!q.p.anchor.empty()) anchors.push_back(q.p.anchor);
    }
    if (anchors.empty()) return {};
    IDSYNC_ASSIGN(auto found, ctx_.store.FindImportedStates(ctx_.ma_id, anchors));
    // The anchors of the batch so far, to tell a first record from a
    // repeat (views into the batch, which does not move while it is staged).
    std::unordered_set<std::string_view> first;
    first.reserve(anchors.size());
    for (auto& q : batch_) {
      if (q.unchanged_id || q.p.anchor.empty() || !first.insert(q.p.anchor).second) continue;
      q.state_read = true;
      if (auto node = found.extract(q.p.anchor)) q.state = std::move(node.mapped());
    }
    return {};
  }

  // The staged state of the queued record's anchor: read by ReadStates for
  // the first record of an anchor in the batch, from the store for any
  // other (which must see what an earlier one staged).
  Result<std::optional<Store::ImportedState>> TakeState(Queued& q, const std::string& anchor) {
    if (!q.state_read) return ctx_.store.FindImportedState(ctx_.ma_id, anchor);
    q.state_read = false;
    return std::move(q.state);
  }

  Status StageQueued(Queued& q) {
    PreparedRecord& p = q.p;
    ImportRecord& r = p.record;
    IDSYNC_ASSIGN(const MaObjectType* type, TypeOf(r));
    if (!type) return {};
    bool by_dn = EqualsIgnoreCase(type->anchor, "dn");
    std::string anchor = r.kind == ImportRecord::Kind::kFull ? std::move(p.anchor) : RecordAnchor(r, *type);
    if (r.kind != ImportRecord::Kind::kFull && !by_dn) {
      // Change records name objects by DN; find the anchor from the CS.
      IDSYNC_ASSIGN(auto found, ctx_.store.FindCsByDn(ctx_.ma_id, r.dn));
      if (found) anchor = found->anchor;
    }
    if (anchor.empty()) {
      return ctx_.ObjectError(r.dn, r.location, "missing-anchor",
                              fmt::format("the record has no value for the anchor attribute '{}'",
                                          type->anchor));
    }
    if (r.kind == ImportRecord::Kind::kFull) return StageFull(q, *type, anchor);
    IDSYNC_ASSIGN(auto existing, ctx_.store.FindCsByAnchor(ctx_.ma_id, anchor));
    if (existing) seen_.Insert(existing->id);
    switch (r.kind) {
      case ImportRecord::Kind::kFull: return {};
      case ImportRecord::Kind::kModify:
      case ImportRecord::Kind::kRename:
        if (!existing || existing->pending_import == PendingImport::kDelete) {
          return ctx_.ObjectError(r.dn, r.location, "no-such-object",
                                  "a change record names an object that is not in the connector space; "
                                  "run a full import first");
        }
        return StageChange(r, *existing, by_dn);
      case ImportRecord::Kind::kDelete:
        if (!existing) return {};  // already gone: deleting again changes nothing
        if (existing->pending_import != PendingImport::kDelete) {
          existing->pending_import = PendingImport::kDelete;
          ++ctx_.counters.stage_deletes;
          return ctx_.store.UpdateCs(*existing);
        }
        return {};
    }
    return {};
  }

  // A record whose digest is stored for object `id`: unchanged, unless it
  // repeats an anchor of this import.
  Status CountUnchanged(int64_t id, const ImportRecord& r) {
    if (!seen_.Insert(id)) {
      IDSYNC_ASSIGN(auto existing, ctx_.store.GetCs(id));
      std::string anchor = existing ? existing->anchor : std::string();
      return ctx_.ObjectError(anchor, r.location, "duplicate-anchor",
                              fmt::format("anchor '{}' appears more than once in this import", anchor));
    }
    ++ctx_.counters.stage_unchanged;
    return {};
  }

  // A record with the object's whole state (its attributes encoded by
  // Prepare): compared with what is staged by its encoding, so unchanged
  // objects (most of a daily export) cost one lookup and no decoding. The
  // record's digest is stored with the state.
  Status StageFull(Queued& q, const MaObjectType& type, const std::string& anchor) {
    PreparedRecord& p = q.p;
    ImportRecord& r = p.record;
    IDSYNC_ASSIGN(auto existing, TakeState(q, anchor));
    std::string_view digest = r.digest ? DigestBytes(*r.digest) : std::string_view();
    if (!existing) {
      IDSYNC_ASSIGN(int64_t id, ctx_.store.InsertImported(Store::NewImport{
                                    .ma_id = ctx_.ma_id,
                                    .anchor = anchor,
                                    .dn = r.dn.empty() ? std::string_view(anchor) : std::string_view(r.dn),
                                    .object_type = type.name,
                                    .attrs = p.encoded,
                                    .digest = digest}));
      seen_.Insert(id);
      ++ctx_.counters.stage_adds;
      return {};
    }
    std::string dn = r.dn.empty() ? anchor : r.dn;
    if (!seen_.Insert(existing->id) && full_) {
      return ctx_.ObjectError(anchor, r.location, "duplicate-anchor",
                              fmt::format("anchor '{}' appears more than once in this import", anchor));
    }
    bool was_deleted = existing->pending_import == PendingImport::kDelete;
    if (existing->attrs == p.encoded && existing->dn == dn && !was_deleted && existing->object_type == type.name) {
      ++ctx_.counters.stage_unchanged;
      if (digest.empty() || existing->digest == digest) return {};
      return ctx_.store.SetImportDigest(existing->id, digest);
    }
    if (existing->dn != dn) ++ctx_.counters.stage_renames;
    else ++ctx_.counters.stage_updates;
    existing->attrs = std::move(p.encoded);
    existing->dn = std::move(dn);
    existing->object_type = type.name;
    existing->digest = digest;
    if (existing->pending_import != PendingImport::kAdd) existing->pending_import = PendingImport::kUpdate;
    return ctx_.store.UpdateImported(*existing);
  }

  Status StageChange(ImportRecord& r, CsObject& o, bool by_dn) {
    if (r.kind == ImportRecord::Kind::kRename) {
      o.dn = r.new_dn;
      if (by_dn) o.anchor = r.new_dn;
      for (const auto& c : r.changes) ApplyChange(o.attrs, c);
      ++ctx_.counters.stage_renames;
    } else {
      AttributeMap before = o.attrs;
      for (const auto& c : r.changes) ApplyChange(o.attrs, c);
      if (before == o.attrs) {
        ++ctx_.counters.stage_unchanged;
        return {};
      }
      ++ctx_.counters.stage_updates;
    }
    if (o.pending_import != PendingImport::kAdd) o.pending_import = PendingImport::kUpdate;
    return ctx_.store.UpdateCs(o);
  }

  RunContext& ctx_;
  bool full_;
  bool trust_digests_;
  std::vector<Queued> batch_;
  SeenIds seen_;
  DigestTable digests_;  // read only once started
};

// Records read before the connector stopped (error limit, unreadable rest)
// are staged all the same; the first failure is what the step reports.
Status FlushAfter(Status read, StagingSink& sink) {
  auto flushed = sink.Flush();
  if (!read) return read;
  return flushed;
}

// Reads with the connector on a thread of its own and stages on this one,
// then stages what is left in the last batch.
Status ReadAndStage(const std::function<Status(ImportSink&)>& read, StagingSink& sink) {
  return FlushAfter(RunImportPipeline(read, sink), sink);
}

std::string StatusFor(const RunContext& ctx, const char* ok) {
  return ctx.counters.errors ? run_status::kCompletedErrors : ok;
}

// Turns a connector or sink failure into a step status.
Result<std::string> Stopped(RunContext& ctx, const Error& e) {
  if (e.code == ErrorCode::kLimit) return std::string(run_status::kStoppedErrorLimit);
  if (e.code == ErrorCode::kIo || e.code == ErrorCode::kParse || e.code == ErrorCode::kNotFound) {
    auto st = ctx.ObjectError("", "", std::string(ErrorCodeName(e.code)), e.message);
    (void)st;
    return std::string(run_status::kStoppedConnectivity);
  }
  return tl::unexpected(e);
}

// Marks every object the full import did not see as pending delete.
Result<std::string> StageObsoletes(RunContext& ctx, const SeenIds& seen) {
  // Ids come from the anchor index; only the few unseen objects are read.
  IDSYNC_ASSIGN(auto ids, ctx.store.ListCsIds(ctx.ma_id));
  std::vector<int64_t> unseen;
  int64_t total = static_cast<int64_t>(ids.size());
  for (int64_t id : ids) {
    if (seen.Contains(id)) continue;
    IDSYNC_ASSIGN(auto state, ctx.store.GetCsState(id));
    if (!state) continue;
    if (state->pending_export == PendingExport::kAdd) {  // provisioned, not yet exported
      --total;
      continue;
    }
    if (state->pending_import != PendingImport::kDelete) unseen.push_back(id);
  }
  std::sort(unseen.begin(), unseen.end());
  if (ExceedsDeletionThreshold(ctx, static_cast<int64_t>(unseen.size()), total)) {
    IDSYNC_TRY(ctx.ObjectError("", "", "deletion-threshold",
                               fmt::format("the import would delete {} of {} objects, more than the "
                                           "deletion threshold allows; no deletion was staged. Check the "
                                           "source, or raise deletion_threshold for MA '{}'",
                                           unseen.size(), total, ctx.ma.name)));
    return std::string(run_status::kStoppedDeletionThreshold);
  }
  for (size_t i = 0; i < unseen.size(); i += ctx.batch_size) {
    IDSYNC_TRY(ctx.store.WithWrite([&]() -> Status {
      for (size_t j = i; j < std::min(unseen.size(), i + ctx.batch_size); ++j) {
        IDSYNC_TRY(ctx.store.SetPendingImport(unseen[j], PendingImport::kDelete));
        ++ctx.counters.stage_deletes;
      }
      return {};
    }));
  }
  return std::string(run_status::kSuccess);
}

// A full import; `trust_digests`: see StagingSink.
Result<std::string> RunWholeImport(RunContext& ctx, Connector& connector, bool trust_digests) {
  StagingSink sink(ctx, /*full=*/true, trust_digests);
  IDSYNC_TRY(sink.Start());
  auto st = ReadAndStage([&](ImportSink& s) { return connector.FullImport(s); }, sink);
  if (!st) return Stopped(ctx, st.error());
  IDSYNC_ASSIGN(std::string obsolete_status, StageObsoletes(ctx, sink.seen()));
  if (obsolete_status != run_status::kSuccess) return obsolete_status;
  return StatusFor(ctx, run_status::kSuccess);
}

}  // namespace

bool ExceedsDeletionThreshold(const RunContext& ctx, int64_t deletes, int64_t total) {
  const auto& t = ctx.ma.deletion_threshold;
  if (deletes == 0) return false;
  if (t.count > 0 && deletes > t.count) return true;
  if (t.percent > 0 && total > 0 && 100.0 * deletes / total > t.percent) return true;
  return false;
}

// A full import compares every record with what is staged, so it also
// repairs what a delta import trusted.
Result<std::string> RunFullImport(RunContext& ctx, Connector& connector) {
  return RunWholeImport(ctx, connector, /*trust_digests=*/false);
}

Result<std::string> RunDeltaImport(RunContext& ctx, Connector& connector) {
  StagingSink sink(ctx, /*full=*/false);
  auto st = RunImportPipeline([&](ImportSink& s) { return connector.DeltaImport(s); }, sink);
  // The source cannot tell what changed: read it whole and stage the
  // difference, as a full import does, skipping records whose digest shows
  // them unchanged.
  if (!st && st.error().code == ErrorCode::kUnsupported) return RunWholeImport(ctx, connector, /*trust_digests=*/true);
  st = FlushAfter(std::move(st), sink);
  if (!st) return Stopped(ctx, st.error());
  return StatusFor(ctx, run_status::kSuccess);
}

}  // namespace idsync
