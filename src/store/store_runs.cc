// Store: run history, run locks and export batches.
#include <signal.h>

#include <cerrno>

#include "store/schema.h"
#include "store/store.h"

namespace idsync {
namespace {

bool ProcessAlive(int pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

RunRecord ReadRun(Statement& st) {
  RunRecord r;
  r.id = st.ColumnInt(0);
  r.ma = st.ColumnText(1);
  r.profile = st.ColumnText(2);
  r.status = st.ColumnText(3);
  r.server = st.ColumnText(4);
  r.started_at = st.ColumnText(5);
  r.ended_at = st.IsNull(6) ? "" : std::string(st.ColumnText(6));
  r.counters_json = st.ColumnText(7);
  return r;
}

constexpr const char* kRunColumns = "id, ma, profile, status, server, started_at, ended_at, counters";

}  // namespace

Result<int64_t> Store::StartRun(const RunRecord& run) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("INSERT INTO runs (ma, profile, status, server, started_at, counters) "
                             "VALUES (?, ?, ?, ?, ?, ?) RETURNING id"));
  st->BindText(1, run.ma);
  st->BindText(2, run.profile);
  st->BindText(3, run.status);
  st->BindText(4, run.server);
  st->BindText(5, run.started_at.empty() ? NowUtc() : run.started_at);
  st->BindText(6, run.counters_json);
  IDSYNC_ASSIGN(bool row, st->Step());
  if (!row) return Fail(ErrorCode::kDatabase, "run insert returned no id");
  int64_t id = st->ColumnInt(0);
  st->Reset();
  return id;
}

Status Store::FinishRun(int64_t id, std::string_view status, std::string_view counters_json) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("UPDATE runs SET status = ?, counters = ?, ended_at = ? WHERE id = ?"));
  st->BindText(1, status);
  st->BindText(2, counters_json);
  st->BindText(3, NowUtc());
  st->BindInt(4, id);
  IDSYNC_TRY(st->Step());
  st->Reset();
  return {};
}

Status Store::AddRunError(int64_t run_id, int64_t seq, const RunErrorRecord& e) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("INSERT INTO run_errors (run_id, seq, object, location, error, message) "
                             "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"));
  st->BindInt(1, run_id);
  st->BindInt(2, seq);
  st->BindText(3, e.object);
  st->BindText(4, e.location);
  st->BindText(5, e.error);
  st->BindText(6, e.message);
  IDSYNC_TRY(st->Step());
  st->Reset();
  return {};
}

Result<std::vector<RunRecord>> Store::ListRuns(int limit) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare(std::string("SELECT ") + kRunColumns +
                                             " FROM runs ORDER BY id DESC LIMIT ?"));
  st->BindInt(1, limit);
  std::vector<RunRecord> out;
  while (true) {
    IDSYNC_ASSIGN(bool row, st->Step());
    if (!row) break;
    out.push_back(ReadRun(*st));
  }
  st->Reset();
  return out;
}

Result<std::optional<RunRecord>> Store::GetRun(int64_t id) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare(std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?"));
  st->BindInt(1, id);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<RunRecord> out;
  if (row) out = ReadRun(*st);
  st->Reset();
  return out;
}

Result<std::vector<RunErrorRecord>> Store::ListRunErrors(int64_t run_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT object, location, error, message FROM "
                                             "run_errors WHERE run_id = ? ORDER BY seq"));
  st->BindInt(1, run_id);
  std::vector<RunErrorRecord> out;
  while (true) {
    IDSYNC_ASSIGN(bool row, st->Step());
    if (!row) break;
    out.push_back({std::string(st->ColumnText(0)), std::string(st->ColumnText(1)),
                   std::string(st->ColumnText(2)), std::string(st->ColumnText(3))});
  }
  st->Reset();
  return out;
}

Result<bool> Store::AcquireRunLock(std::string_view ma, int64_t run_id, std::string_view server, int pid) {
  IDSYNC_ASSIGN(Statement * sel, db_->Prepare("SELECT server, pid, run_id FROM run_locks WHERE ma = ?"));
  sel->BindText(1, ma);
  IDSYNC_ASSIGN(bool held, sel->Step());
  if (held) {
    std::string holder(sel->ColumnText(0));
    int holder_pid = static_cast<int>(sel->ColumnInt(1));
    int64_t holder_run = sel->ColumnInt(2);
    sel->Reset();
    // A lock of this server whose process has gone was left by a crash. A
    // lock of another server was left by a server that has since been
    // deposed: only the active server writes, so its run can no longer
    // write anything.
    if (holder == server && ProcessAlive(holder_pid)) return false;
    IDSYNC_ASSIGN(Statement * mark, db_->Prepare("UPDATE runs SET status = ?, ended_at = ? "
                                                 "WHERE id = ? AND status = 'in-progress'"));
    mark->BindText(1, holder == server ? "stopped-interrupted" : "stopped-not-active");
    mark->BindText(2, NowUtc());
    mark->BindInt(3, holder_run);
    IDSYNC_TRY(mark->Step());
    mark->Reset();
    IDSYNC_ASSIGN(Statement * del, db_->Prepare("DELETE FROM run_locks WHERE ma = ?"));
    del->BindText(1, ma);
    IDSYNC_TRY(del->Step());
    del->Reset();
  } else {
    sel->Reset();
  }
  IDSYNC_ASSIGN(Statement * ins, db_->Prepare("INSERT INTO run_locks (ma, run_id, server, pid, "
                                              "started_at) VALUES (?, ?, ?, ?, ?)"));
  ins->BindText(1, ma);
  ins->BindInt(2, run_id);
  ins->BindText(3, server);
  ins->BindInt(4, pid);
  ins->BindText(5, NowUtc());
  IDSYNC_TRY(ins->Step());
  ins->Reset();
  return true;
}

Status Store::ReleaseRunLock(std::string_view ma, int64_t run_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("DELETE FROM run_locks WHERE ma = ? AND run_id = ?"));
  st->BindText(1, ma);
  st->BindInt(2, run_id);
  IDSYNC_TRY(st->Step());
  st->Reset();
  return {};
}

Result<std::optional<Store::ExportBatch>> Store::OpenExportBatch(int64_t ma_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT id, after_id, last_id FROM export_batches WHERE ma_id = ? AND "
                                             "state = 'open' ORDER BY id LIMIT 1"));
  st->BindInt(1, ma_id);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<ExportBatch> batch;
  if (row) batch = ExportBatch{st->ColumnInt(0), st->ColumnInt(1), st->ColumnInt(2)};
  st->Reset();
  return batch;
}

Result<std::optional<Store::ExportBatch>> Store::CreateExportBatch(int64_t ma_id, int64_t after_id,
                                                                   int64_t max_objects) {
  // The batch ends at the last of its pending exports, found in the
  // pending-export index; nothing is written to the rows themselves.
  IDSYNC_ASSIGN(Statement * end,
                db_->Prepare(PendingExportsListed(*db_)
                                 ? "SELECT max(id) FROM (SELECT id FROM cs_pending_exports WHERE ma_id = ? AND id > ? "
                                   "ORDER BY id LIMIT ?) AS batch_ids"
                                 : "SELECT max(id) FROM (SELECT id FROM cs_objects WHERE ma_id = ? AND "
                                   "pending_export <> 0 AND id > ? ORDER BY id LIMIT ?) AS batch_ids"));
  end->BindInt(1, ma_id);
  end->BindInt(2, after_id);
  end->BindInt(3, max_objects);
  IDSYNC_ASSIGN(bool found, end->Step());
  std::optional<int64_t> last;
  if (found && !end->IsNull(0)) last = end->ColumnInt(0);
  end->Reset();
  if (!last) return std::optional<ExportBatch>();
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("INSERT INTO export_batches (ma_id, state, created_at, after_id, last_id) "
                                             "VALUES (?, 'open', ?, ?, ?) RETURNING id"));
  st->BindInt(1, ma_id);
  st->BindText(2, NowUtc());
  st->BindInt(3, after_id);
  st->BindInt(4, *last);
  IDSYNC_ASSIGN(bool row, st->Step());
  if (!row) return Fail(ErrorCode::kDatabase, "export batch insert returned no id");
  int64_t id = st->ColumnInt(0);
  st->Reset();
  return std::optional<ExportBatch>(ExportBatch{id, after_id, *last});
}

Result<bool> Store::InOpenExportBatch(int64_t ma_id, int64_t cs_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT 1 FROM export_batches WHERE ma_id = ? AND state = 'open' AND "
                                             "after_id < ? AND last_id >= ? LIMIT 1"));
  st->BindInt(1, ma_id);
  st->BindInt(2, cs_id);
  st->BindInt(3, cs_id);
  IDSYNC_ASSIGN(bool row, st->Step());
  st->Reset();
  return row;
}

Status Store::CompleteExportBatch(int64_t batch_id) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("UPDATE export_batches SET state = 'done' WHERE id = ?"));
  st->BindInt(1, batch_id);
  IDSYNC_TRY(st->Step());
  st->Reset();
  return {};
}

}  // namespace idsync
