#include "engine/export.h"

#include <fmt/format.h>

#include "connectors/connector.h"
#include "engine/import.h"
#include "engine/run_context.h"

namespace idsync {
namespace {

std::vector<AttributeChange> Diff(const AttributeMap& from, const AttributeMap& to) {
  std::vector<AttributeChange> changes;
  for (const auto& [name, values] : to) {
    auto it = from.find(name);
    if (it == from.end() || it->second != values)
      changes.push_back({AttributeChange::Op::kReplace, name, values});
  }
  for (const auto& [name, values] : from)
    if (!to.count(name)) changes.push_back({AttributeChange::Op::kDelete, name, {}});
  return changes;
}

// The changes one pending export makes, in the order they must be applied.
// Takes the desired attributes out of `o` (the caller is done with it), so
// that each change does not copy its object's attributes.
std::vector<ExportChange> ChangesFor(CsObject& o) {
  std::vector<ExportChange> out;
  ExportChange base;
  base.anchor = o.anchor;
  base.dn = o.dn;
  base.object_type = o.object_type;
  switch (o.pending_export) {
    case PendingExport::kAdd:
      base.kind = ExportChange::Kind::kAdd;
      base.dn = o.export_dn.empty() ? o.dn : o.export_dn;
      base.attrs = std::move(o.export_attrs);
      out.push_back(std::move(base));
      break;
    case PendingExport::kDelete:
      base.kind = ExportChange::Kind::kDelete;
      out.push_back(std::move(base));
      break;
    case PendingExport::kUpdate: {
      if (!o.export_dn.empty() && o.export_dn != o.dn) {
        ExportChange rename = base;
        rename.kind = ExportChange::Kind::kRename;
        rename.new_dn = o.export_dn;
        out.push_back(std::move(rename));
        base.dn = o.export_dn;
      }
      auto changes = Diff(o.attrs, o.export_attrs);
      if (!changes.empty()) {
        base.kind = ExportChange::Kind::kModify;
        base.attrs = std::move(o.export_attrs);
        base.changes = std::move(changes);
        out.push_back(std::move(base));
      }
      break;
    }
    case PendingExport::kNone:
      break;
  }
  return out;
}

// Records the exports as done (all pending of the MA, or one batch) in the
// current transaction, and counts them.
Status ConfirmExports(RunContext& ctx, std::optional<int64_t> batch) {
  std::vector<std::string> dn_types;
  for (const auto& t : ctx.ma.object_types)
    if (EqualsIgnoreCase(t.anchor, "dn")) dn_types.push_back(t.name);
  IDSYNC_ASSIGN(auto counts, ctx.store.ConfirmExports(ctx.ma_id, batch, dn_types));
  ctx.counters.exported_adds += counts.adds;
  ctx.counters.exported_updates += counts.updates;
  ctx.counters.exported_renames += counts.renames;
  ctx.counters.exported_deletes += counts.deletes;
  return {};
}

Status ExportBatches(RunContext& ctx, Connector& connector, int64_t batch_objects) {
  while (true) {
    IDSYNC_ASSIGN(auto open, ctx.store.OpenExportBatch(ctx.ma_id));
    int64_t batch;
    if (open) {
      batch = *open;  // left by an interrupted export: write it again
    } else {
      std::optional<int64_t> created;
      IDSYNC_TRY(ctx.store.WithWrite([&]() -> Status {
        IDSYNC_ASSIGN(created, ctx.store.CreateExportBatch(ctx.ma_id, batch_objects));
        return {};
      }));
      if (!created) return {};  // nothing left to export
      batch = *created;
    }
    IDSYNC_ASSIGN(auto session, connector.BeginExport(batch));
    CsQuery q;
    q.ma_id = ctx.ma_id;
    q.export_batch = batch;
    q.limit = 5000;
    while (true) {
      IDSYNC_ASSIGN(auto page, ctx.store.ListCs(q));
      if (page.empty()) break;
      for (auto& o : page) {
        q.after_id = o.id;
        for (const auto& change : ChangesFor(o)) IDSYNC_TRY(session->Write(change));
      }
      ctx.counters.processed += page.size();
      if (ctx.progress) ctx.progress("export", ctx.counters.processed);
    }
    IDSYNC_TRY(session->Commit());
    // The batch is durable in the connected system: record it, all at once.
    IDSYNC_TRY(ctx.store.WithWrite([&]() -> Status {
      IDSYNC_TRY(ConfirmExports(ctx, batch));
      return ctx.store.CompleteExportBatch(batch);
    }));
  }
}

Status ExportSnapshot(RunContext& ctx, Connector& connector) {
  IDSYNC_ASSIGN(int64_t pending, ctx.store.CountPendingExports(ctx.ma_id));
  if (pending == 0) return {};
  CsQuery q;
  q.ma_id = ctx.ma_id;
  q.limit = 5000;
  std::vector<CsObject> page;
  size_t pos = 0;
  Status read_error;
  auto next = [&](SnapshotObject& out) -> bool {
    while (true) {
      if (pos == page.size()) {
        auto more = ctx.store.ListCs(q);
        if (!more) {
          read_error = tl::unexpected(more.error());
          return false;
        }
        page = std::move(*more);
        pos = 0;
        if (page.empty()) return false;
        q.after_id = page.back().id;
        ctx.counters.processed += page.size();
        if (ctx.progress) ctx.progress("export", ctx.counters.processed);
      }
      CsObject& o = page[pos++];
      if (o.pending_export == PendingExport::kDelete) continue;
      bool pending = o.pending_export != PendingExport::kNone;
      out.anchor = o.anchor;
      out.dn = pending && !o.export_dn.empty() ? o.export_dn : o.dn;
      out.object_type = o.object_type;
      out.attrs = pending ? std::move(o.export_attrs) : std::move(o.attrs);
      return true;
    }
  };
  auto st = connector.ExportSnapshot(next);
  if (!read_error) return read_error;
  IDSYNC_TRY(st);
  // The file now holds every pending change: record them in one transaction
  // (a crash before it rewrites the same file on the next export).
  return ctx.store.WithWrite([&] { return ConfirmExports(ctx, std::nullopt); });
}

}  // namespace

Result<std::string> RunExport(RunContext& ctx, Connector& connector, int64_t batch_objects) {
  IDSYNC_ASSIGN(int64_t total, ctx.store.CountCs(ctx.ma_id));
  IDSYNC_ASSIGN(int64_t deletes, ctx.store.CountPendingExportDeletes(ctx.ma_id));
  if (ExceedsDeletionThreshold(ctx, deletes, total)) {
    IDSYNC_TRY(ctx.ObjectError("", "", "deletion-threshold",
                               fmt::format("{} of {} objects are pending deletion, more than the deletion "
                                           "threshold of MA '{}' allows; nothing was exported. Check the "
                                           "source and the sync rules, or raise the threshold",
                                           deletes, total, ctx.ma.name)));
    return std::string(run_status::kStoppedDeletionThreshold);
  }
  auto st = connector.ExportsSnapshots() ? ExportSnapshot(ctx, connector)
                                         : ExportBatches(ctx, connector, batch_objects);
  if (!st) {
    if (st.error().code == ErrorCode::kIo || st.error().code == ErrorCode::kUnsupported) {
      IDSYNC_TRY(ctx.ObjectError("", "", std::string(ErrorCodeName(st.error().code)), st.error().message));
      return std::string(run_status::kStoppedConnectivity);
    }
    return tl::unexpected(st.error());
  }
  return std::string(ctx.counters.errors ? run_status::kCompletedExportErrors : run_status::kSuccess);
}

}  // namespace idsync
