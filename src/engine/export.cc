#include "engine/export.h"

#include <algorithm>

#include <fmt/format.h>

#include "connectors/connector.h"
#include "engine/export_pipe.h"
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
      if (WithdrawnAdd(o.pending_export, o.export_dn)) break;  // never written: nothing to delete
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

// Object types of the MA whose anchor is their DN.
std::vector<std::string> DnAnchoredTypes(const RunContext& ctx) {
  std::vector<std::string> types;
  for (const auto& t : ctx.ma.object_types)
    if (EqualsIgnoreCase(t.anchor, "dn")) types.push_back(t.name);
  return types;
}

// What confirming `o`'s export needs to know, taken on the engine's thread
// when it reads the row (before the writer thread takes the row's strings).
// The generation read here is what makes the confirmation skip a row that a
// sync of another MA (run locks are per MA) changed after this read: that
// row stays pending and is exported with its new state by a later export.
// With `keep_written` (change records), an add or update also keeps what is
// written, which becomes the row's known state if a sync changed the row
// before the confirmation (Store::RecordOvertakenExports); a whole-file
// snapshot writes the newest state next time anyway.
Store::ExportedRow ExportedRowOf(const Store::EncodedCsObject& o, const std::vector<std::string>& dn_types,
                                 bool keep_written) {
  Store::ExportedRow r;
  r.id = o.id;
  r.export_gen = o.export_gen;
  r.pending = o.pending_export;
  if (o.pending_export == PendingExport::kDelete) return r;
  r.dn_anchored = std::find(dn_types.begin(), dn_types.end(), o.object_type) != dn_types.end();
  const std::string& new_dn = o.export_dn.empty() ? o.dn : o.export_dn;
  r.moves = new_dn != o.dn || (r.dn_anchored && new_dn != o.anchor);
  if (keep_written && o.pending_export != PendingExport::kNone) {
    r.has_written = true;
    r.written_attrs = o.export_attrs.empty() ? EncodeAttributes({}) : o.export_attrs;
    r.written_dn = new_dn;
  }
  return r;
}

// The object as ChangesFor needs it, decoded on the writer thread: only the
// attribute maps the change uses (an add does not look at the known state).
// Takes the strings out of `e`.
Result<CsObject> DecodeForExport(Store::EncodedCsObject& e) {
  CsObject o;
  o.id = e.id;
  o.anchor = std::move(e.anchor);
  o.dn = std::move(e.dn);
  o.object_type = std::move(e.object_type);
  o.pending_export = e.pending_export;
  o.export_dn = std::move(e.export_dn);
  o.export_gen = e.export_gen;
  if (o.pending_export == PendingExport::kUpdate) {
    IDSYNC_ASSIGN(o.attrs, DecodeAttributes(e.attrs));
  }
  if (o.pending_export == PendingExport::kAdd || o.pending_export == PendingExport::kUpdate) {
    IDSYNC_ASSIGN(o.export_attrs, DecodeAttributes(e.export_attrs));
  }
  return o;
}

// The exported_* counters count the changes written to the connected
// system, added to the run's once they are recorded.
void CountChange(RunCounters& counts, ExportChange::Kind kind) {
  switch (kind) {
    case ExportChange::Kind::kAdd: ++counts.exported_adds; break;
    case ExportChange::Kind::kModify: ++counts.exported_updates; break;
    case ExportChange::Kind::kRename: ++counts.exported_renames; break;
    case ExportChange::Kind::kDelete: ++counts.exported_deletes; break;
  }
}

void AddExportCounts(RunCounters& to, const RunCounters& from) {
  to.exported_adds += from.exported_adds;
  to.exported_updates += from.exported_updates;
  to.exported_renames += from.exported_renames;
  to.exported_deletes += from.exported_deletes;
}

// Rows per page read, and per chunk handed to the writer thread; the reader
// runs at most kQueueChunks chunks ahead of the writer.
constexpr int kChunkObjects = 1000;
constexpr size_t kQueueChunks = 4;
using RowPipe = ExportPipe<Store::EncodedCsObject>;

tl::unexpected<Error> Cancelled() { return Fail(ErrorCode::kInternal, "the export was stopped"); }

// The engine's side of one pipe: reads the rows of `q` page by page, keeps
// what confirming them needs (`keep(row)`, before the writer takes the
// row's strings), and hands each page to the writer. Returns the first
// error of either side; on a read error the writer is cancelled (it makes
// nothing durable). When this returns success, the writer has made every
// row durable.
template <typename Keep>
Status ReadInto(RunContext& ctx, RowPipe& pipe, CsQuery q, const Keep& keep) {
  q.limit = kChunkObjects;
  while (true) {
    auto page = ctx.store.ListCsEncoded(q);
    if (!page) {
      pipe.Cancel();
      return tl::unexpected(page.error());
    }
    if (page->empty()) break;
    q.after_id = page->back().id;
    for (const auto& row : *page) keep(row);
    ctx.counters.processed += static_cast<int64_t>(page->size());
    if (ctx.progress) ctx.progress("export", ctx.counters.processed);
    if (!pipe.Push(std::move(*page))) break;  // the writer stopped: Finish() says why
  }
  return pipe.Finish();
}

// Change-record connectors. A batch is the next pending exports by id,
// recorded as the range of their ids (Store::CreateExportBatch): assigning
// each row to its batch would write every row once more, and the rows are
// written anyway when they are confirmed.
//
// Within a batch, this thread reads the rows while a writer thread decodes
// them, computes their changes and writes them through the connector's
// session; the session is committed on the writer thread, and only after
// that (Finish) are the rows confirmed here.
Status ExportBatch(RunContext& ctx, Connector& connector, const Store::ExportBatch& batch,
                   const std::vector<std::string>& dn_types) {
  RunCounters counted;  // by the writer thread; read once it has been joined
  RowPipe pipe(kQueueChunks, [&](RowPipe& p) -> Status {
    IDSYNC_ASSIGN(auto session, connector.BeginExport(batch.id));
    RowPipe::Chunk chunk;
    while (p.Pop(chunk)) {
      for (auto& row : chunk) {
        IDSYNC_ASSIGN(CsObject o, DecodeForExport(row));
        for (const auto& change : ChangesFor(o)) {
          IDSYNC_TRY(session->Write(change));
          CountChange(counted, change.kind);
        }
      }
    }
    // Cancelled: the session is dropped without Commit(), which takes back
    // what it wrote.
    if (p.cancelled()) return Cancelled();
    return session->Commit();
  });
  CsQuery q;
  q.ma_id = ctx.ma_id;
  q.pending_export_only = true;
  q.after_id = batch.after_id;
  q.through_id = batch.last_id;
  std::vector<Store::ExportedRow> written;
  IDSYNC_TRY(ReadInto(ctx, pipe, q, [&](const Store::EncodedCsObject& row) {
    written.push_back(ExportedRowOf(row, dn_types, /*keep_written=*/true));
  }));
  // The batch is durable in the connected system: record what was written,
  // all in one transaction with the batch's completion.
  IDSYNC_TRY(ctx.store.WithWrite([&]() -> Status {
    IDSYNC_TRY(ctx.store.ConfirmExported(written).map([](int64_t) {}));
    IDSYNC_TRY(ctx.store.RecordOvertakenExports(ctx.ma_id, written));
    return ctx.store.CompleteExportBatch(batch.id);
  }));
  AddExportCounts(ctx.counters, counted);
  return {};
}

Status ExportBatches(RunContext& ctx, Connector& connector, int64_t batch_objects) {
  const std::vector<std::string> dn_types = DnAnchoredTypes(ctx);
  // A batch left open by an interrupted export is written again first, under
  // its number (the connector replaces its earlier output); the run then
  // starts over from the lowest id.
  IDSYNC_ASSIGN(std::optional<Store::ExportBatch> batch, ctx.store.OpenExportBatch(ctx.ma_id));
  int64_t after = 0;
  while (true) {
    const bool reopened = batch.has_value();
    if (!batch) {
      IDSYNC_TRY(ctx.store.WithWrite([&]() -> Status {
        IDSYNC_ASSIGN(batch, ctx.store.CreateExportBatch(ctx.ma_id, after, batch_objects));
        return {};
      }));
      if (!batch) return {};  // nothing left to export in this run
    }
    IDSYNC_TRY(ExportBatch(ctx, connector, *batch, dn_types));
    after = reopened ? 0 : batch->last_id;
    batch.reset();
  }
}

// Encodings compare as their maps do (an encoding is made from the map, in
// its order); NULL is the empty map.
bool SameEncodedAttributes(std::string_view a, std::string_view b, std::string_view empty) {
  return (a.empty() ? empty : a) == (b.empty() ? empty : b);
}

// Snapshot connectors: this thread reads every object of the MA while a
// writer thread decodes them and runs the connector's snapshot export; the
// rows are confirmed once it has replaced the file.
Status ExportSnapshot(RunContext& ctx, Connector& connector) {
  IDSYNC_ASSIGN(int64_t pending, ctx.store.CountPendingExports(ctx.ma_id));
  if (pending == 0) return {};
  const std::vector<std::string> dn_types = DnAnchoredTypes(ctx);
  RowPipe pipe(kQueueChunks, [&](RowPipe& p) -> Status {
    RowPipe::Chunk chunk;
    size_t pos = 0;
    return connector.ExportSnapshot([&](SnapshotObject& out) -> Result<bool> {
      while (true) {
        if (pos == chunk.size()) {
          chunk.clear();
          pos = 0;
          if (!p.Pop(chunk)) {
            if (p.cancelled()) return Cancelled();  // the connector keeps the old file
            return false;
          }
          continue;
        }
        Store::EncodedCsObject& row = chunk[pos++];
        if (row.pending_export == PendingExport::kDelete) continue;
        const bool is_pending = row.pending_export != PendingExport::kNone;
        out.anchor = std::move(row.anchor);
        out.dn = is_pending && !row.export_dn.empty() ? std::move(row.export_dn) : std::move(row.dn);
        out.object_type = std::move(row.object_type);
        IDSYNC_ASSIGN(out.attrs, DecodeAttributes(is_pending ? row.export_attrs : row.attrs));
        return true;
      }
    });
  });
  // The pending exports the file holds (or, for deletes, leaves out), as read.
  std::vector<Store::ExportedRow> written;
  written.reserve(static_cast<size_t>(pending));
  RunCounters counted;
  const std::string empty = EncodeAttributes({});
  CsQuery q;
  q.ma_id = ctx.ma_id;
  IDSYNC_TRY(ReadInto(ctx, pipe, q, [&](const Store::EncodedCsObject& row) {
    if (row.pending_export == PendingExport::kNone) return;
    written.push_back(ExportedRowOf(row, dn_types, /*keep_written=*/false));
    switch (row.pending_export) {
      case PendingExport::kAdd: CountChange(counted, ExportChange::Kind::kAdd); break;
      case PendingExport::kDelete:
        if (!WithdrawnAdd(row.pending_export, row.export_dn)) CountChange(counted, ExportChange::Kind::kDelete);
        break;
      case PendingExport::kUpdate:
        if (!row.export_dn.empty() && row.export_dn != row.dn) CountChange(counted, ExportChange::Kind::kRename);
        if (!SameEncodedAttributes(row.export_attrs, row.attrs, empty))
          CountChange(counted, ExportChange::Kind::kModify);
        break;
      case PendingExport::kNone: break;
    }
  }));
  // The file now holds the pending changes it read: record those, and only
  // those, in one transaction (a crash before it writes the same file again
  // on the next export; a row changed since it was read stays pending).
  IDSYNC_TRY(ctx.store.WithWrite([&] { return ctx.store.ConfirmExported(written).map([](int64_t) {}); }));
  AddExportCounts(ctx.counters, counted);
  return {};
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
