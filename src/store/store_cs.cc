// Store: connector space objects.
#include <algorithm>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "store/schema.h"
#include "store/statement_util.h"
#include "store/store.h"

namespace idsync {
namespace {

#define IDSYNC_CS_DATA_COLUMNS                                                   \
  "ma_id, anchor, dn, object_type, attrs, link_state, mv_id, pending_import, " \
  "pending_export, export_attrs, export_dn"
// export_gen is read but never bound: inserts start at its default (0) and
// UpdateCs bumps it in SQL.
#define IDSYNC_CS_COLUMNS "id, " IDSYNC_CS_DATA_COLUMNS ", export_gen"
constexpr const char* kCsColumns = IDSYNC_CS_COLUMNS;

// `decode`: false leaves attrs and export_attrs empty.
Result<CsObject> ReadCs(Statement& st, bool decode = true) {
  CsObject o;
  o.id = st.ColumnInt(0);
  o.ma_id = st.ColumnInt(1);
  o.anchor = st.ColumnText(2);
  o.dn = st.ColumnText(3);
  o.object_type = st.ColumnText(4);
  if (decode) {
    IDSYNC_ASSIGN(o.attrs, DecodeAttributes(st.ColumnBlob(5)));
  }
  o.link = static_cast<LinkState>(st.ColumnInt(6));
  if (!st.IsNull(7)) o.mv_id = st.ColumnInt(7);
  o.pending_import = static_cast<PendingImport>(st.ColumnInt(8));
  o.pending_export = static_cast<PendingExport>(st.ColumnInt(9));
  if (decode) {
    IDSYNC_ASSIGN(o.export_attrs, DecodeAttributes(st.ColumnBlob(10)));
  }
  o.export_dn = st.ColumnText(11);
  o.export_gen = st.ColumnInt(12);
  return o;
}

// Binds the data columns, in IDSYNC_CS_DATA_COLUMNS order starting at
// parameter 1; without `indexed`, ma_id, anchor, dn and mv_id are left out
// (the others keep their order).
struct BoundCs {
  std::string export_attrs;  // encoded (empty when bound NULL)
  int next = 0;              // the next parameter
};
BoundCs BindCs(Statement& st, const CsObject& o, bool indexed = true) {
  int i = 1;
  if (indexed) {
    st.BindInt(i++, o.ma_id);
    st.BindText(i++, o.anchor);
    st.BindText(i++, o.dn);
  }
  st.BindText(i++, o.object_type);
  st.BindBlob(i++, EncodeAttributes(o.attrs));
  st.BindInt(i++, static_cast<int>(o.link));
  if (indexed) {
    if (o.mv_id) st.BindInt(i++, *o.mv_id);
    else st.BindNull(i++);
  }
  st.BindInt(i++, static_cast<int>(o.pending_import));
  st.BindInt(i++, static_cast<int>(o.pending_export));
  BoundCs bound;
  if (o.export_attrs.empty()) {
    st.BindNull(i++);
  } else {
    bound.export_attrs = EncodeAttributes(o.export_attrs);
    st.BindBlob(i++, bound.export_attrs);
  }
  if (o.export_dn.empty()) st.BindNull(i++);
  else st.BindText(i++, o.export_dn);
  bound.next = i;
  return bound;
}

void BindDigest(Statement& st, int i, std::string_view digest) {
  if (digest.empty()) st.BindNull(i);
  else st.BindBlob(i, digest);
}

Result<std::optional<CsObject>> ReadOne(Statement& st) {
  IDSYNC_ASSIGN(bool row, st.Step());
  std::optional<CsObject> out;
  if (row) {
    IDSYNC_ASSIGN(out, ReadCs(st));
  }
  st.Reset();
  return out;
}

// `expected`: how many rows the query may return (its LIMIT), reserved up
// front so a page is not moved object by object as the vector grows.
Result<std::vector<CsObject>> ReadAll(Statement& st, size_t expected = 0) {
  std::vector<CsObject> out;
  out.reserve(expected);
  while (true) {
    IDSYNC_ASSIGN(bool row, st.Step());
    if (!row) break;
    IDSYNC_ASSIGN(CsObject o, ReadCs(st));
    out.push_back(std::move(o));
  }
  st.Reset();
  return out;
}

// Whether UpdateCs and UpdateCsLink write the indexed columns apart,
// through Store::SetIndexedColumns (SQLite: see there), or in their main
// statement.
bool IndexedColumnsApart(Db& db) { return db.Backend() == "sqlite"; }

// With PendingExportsListed, lists object `id` of MA `ma_id` as pending an
// export or takes it off the list, as `pending` says (sent, not read).
// `is_new`: the object was inserted just now, so it is not listed yet.
Status ListPendingExport(Db& db, int64_t id, int64_t ma_id, PendingExport pending, bool is_new = false) {
  if (!PendingExportsListed(db) || (is_new && pending == PendingExport::kNone)) return {};
  Statement* st = nullptr;
  if (pending == PendingExport::kNone) {
    IDSYNC_ASSIGN(st, db.Prepare("DELETE FROM cs_pending_exports WHERE id = ?"));
    st->BindInt(1, id);
  } else {
    IDSYNC_ASSIGN(st, db.Prepare(is_new ? "INSERT INTO cs_pending_exports (id, ma_id) VALUES (?, ?)"
                                        : "INSERT INTO cs_pending_exports (id, ma_id) VALUES (?, ?) "
                                          "ON CONFLICT (id) DO NOTHING"));
    st->BindInt(1, id);
    st->BindInt(2, ma_id);
  }
  IDSYNC_TRY(st->Send());
  st->Reset();
  return {};
}

// `update` (an UPDATE or DELETE of cs_objects) as one statement that also
// takes the rows it changed off the pending-export list, with
// PendingExportsListed; `update` itself otherwise.
std::string AndUnlisted(Db& db, std::string update) {
  if (!PendingExportsListed(db)) return update;
  return "WITH done AS (" + update + " RETURNING id) DELETE FROM cs_pending_exports WHERE id IN (SELECT id FROM done)";
}

// "c." before each of the comma-separated `columns`.
std::string Qualified(std::string_view columns) {
  std::string out;
  while (!columns.empty()) {
    const size_t comma = std::min(columns.find(','), columns.size());
    std::string_view name = columns.substr(0, comma);
    while (name.starts_with(' ')) name.remove_prefix(1);
    if (!out.empty()) out += ", ";
    out += "c.";
    out += name;
    columns.remove_prefix(std::min(comma + 1, columns.size()));
  }
  return out;
}

// Rows reserved at most for one page of ListCs (a larger page still works).
constexpr int kMaxReservedPage = 10000;

}  // namespace

Result<std::optional<CsObject>> Store::FindCsByAnchor(int64_t ma_id, std::string_view anchor) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT " IDSYNC_CS_COLUMNS " FROM cs_objects WHERE ma_id = ? AND anchor = ?"));
  st->BindInt(1, ma_id);
  st->BindText(2, anchor);
  return ReadOne(*st);
}

Result<std::optional<CsObject>> Store::FindCsByDn(int64_t ma_id, std::string_view dn) {
  IDSYNC_ASSIGN(Statement * by_anchor, db_->Prepare("SELECT " IDSYNC_CS_COLUMNS " FROM cs_objects WHERE ma_id = ? "
                                                    "AND anchor = ? AND dn = anchor"));
  by_anchor->BindInt(1, ma_id);
  by_anchor->BindText(2, dn);
  IDSYNC_ASSIGN(auto found, ReadOne(*by_anchor));
  if (found) return found;
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT " IDSYNC_CS_COLUMNS " FROM cs_objects WHERE ma_id = ? "
                                             "AND dn = ? AND dn <> anchor ORDER BY id LIMIT 1"));
  st->BindInt(1, ma_id);
  st->BindText(2, dn);
  return ReadOne(*st);
}

Result<std::optional<CsObject>> Store::GetCs(int64_t id) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("SELECT " IDSYNC_CS_COLUMNS " FROM cs_objects WHERE id = ?"));
  st->BindInt(1, id);
  return ReadOne(*st);
}

// The statement of a ListCs query selecting `columns`, with its parameters bound.
static Result<Statement*> PrepareListCs(Db& db, const CsQuery& q, const char* columns) {
  // An export batch's range, within the pending exports.
  const bool through = q.pending_export_only && q.through_id > 0;
  std::string sql;
  if (q.pending_export_only && PendingExportsListed(db) && !q.pending_import_only && !q.disconnectors_only) {
    // A page of the list of pending exports in id order, then their rows
    // (the page is a subquery with its own LIMIT, which the planner keeps
    // apart: otherwise it may walk cs_objects in id order, every MA's rows,
    // looking each up in the list).
    sql = fmt::format("SELECT {} FROM (SELECT id FROM cs_pending_exports WHERE ma_id = ? AND id > ?{} ORDER BY id "
                      "LIMIT ?) AS p JOIN cs_objects c USING (id) ORDER BY id",
                      Qualified(columns), through ? " AND id <= ?" : "");
  } else if (q.pending_export_only && PendingExportsListed(db)) {
    // With other conditions (a search): the list joined to the rows.
    std::string where = "p.ma_id = ? AND id > ?";
    if (q.pending_import_only) where += " AND pending_import <> 0";
    if (q.disconnectors_only) where += " AND link_state <> 1";
    where += " AND pending_export <> 0";
    if (through) where += " AND id <= ?";
    sql = fmt::format("SELECT {} FROM cs_pending_exports p JOIN cs_objects c USING (id) WHERE {} ORDER BY id LIMIT ?",
                      Qualified(columns), where);
  } else {
    // Pages must cost what they return: pending objects come from the
    // partial indexes (ma_id, id); anything else walks the table in id
    // order, where `+ma_id` keeps the planner from using the anchor index
    // and sorting.
    bool pending = q.pending_import_only || q.pending_export_only;
    std::string where = pending ? "ma_id = ? AND id > ?" : "+ma_id = ? AND id > ?";
    if (q.pending_import_only) where += " AND pending_import <> 0";
    if (q.pending_export_only) where += " AND pending_export <> 0";
    if (q.disconnectors_only) where += " AND link_state <> 1";
    if (through) where += " AND id <= ?";
    sql = fmt::format("SELECT {} FROM cs_objects WHERE {} ORDER BY id LIMIT ?", columns, where);
  }
  IDSYNC_ASSIGN(Statement * st, db.Prepare(sql));
  int i = 1;
  st->BindInt(i++, q.ma_id);
  st->BindInt(i++, q.after_id);
  if (through) st->BindInt(i++, q.through_id);
  st->BindInt(i++, q.limit);
  return st;
}

Result<std::vector<CsObject>> Store::ListCs(const CsQuery& q) {
  IDSYNC_ASSIGN(Statement * st, PrepareListCs(*db_, q, kCsColumns));
  return ReadAll(*st, static_cast<size_t>(std::clamp(q.limit, 0, kMaxReservedPage)));
}

Result<std::vector<Store::EncodedCsObject>> Store::ListCsEncoded(const CsQuery& q) {
  IDSYNC_ASSIGN(Statement * st, PrepareListCs(*db_, q, "id, anchor, dn, object_type, attrs, export_attrs, "
                                                       "export_dn, pending_export, export_gen"));
  std::vector<EncodedCsObject> out;
  out.reserve(static_cast<size_t>(std::clamp(q.limit, 0, kMaxReservedPage)));
  while (true) {
    auto row = st->Step();
    if (!row) {
      st->Reset();
      return tl::unexpected(row.error());
    }
    if (!*row) break;
    EncodedCsObject& o = out.emplace_back();
    o.id = st->ColumnInt(0);
    o.anchor = st->ColumnText(1);
    o.dn = st->ColumnText(2);
    o.object_type = st->ColumnText(3);
    o.attrs = st->ColumnBlob(4);
    o.export_attrs = st->ColumnBlob(5);
    o.export_dn = st->ColumnText(6);
    o.pending_export = static_cast<PendingExport>(st->ColumnInt(7));
    o.export_gen = st->ColumnInt(8);
  }
  st->Reset();
  return out;
}

Result<std::vector<CsObject>> Store::ListCsByMv(int64_t mv_id) {
  // Sorted here: the index on (mv_id, ma_id) does not give id order, and
  // SQLite would copy every row, attributes and all, into a sorter.
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT " IDSYNC_CS_COLUMNS " FROM cs_objects WHERE mv_id = ?"));
  st->BindInt(1, mv_id);
  IDSYNC_ASSIGN(auto out, ReadAll(*st));
  std::sort(out.begin(), out.end(), [](const CsObject& a, const CsObject& b) { return a.id < b.id; });
  return out;
}

Result<std::optional<int64_t>> Store::FindMvIdByAnchor(int64_t ma_id, std::string_view anchor) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT mv_id FROM cs_objects WHERE ma_id = ? AND anchor = ?"));
  st->BindInt(1, ma_id);
  st->BindText(2, anchor);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<int64_t> id;
  if (row && !st->IsNull(0)) id = st->ColumnInt(0);
  st->Reset();
  return id;
}

Result<std::optional<int64_t>> Store::FindMvIdByDn(int64_t ma_id, std::string_view dn) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT mv_id FROM cs_objects WHERE ma_id = ? AND anchor = ? AND "
                                             "dn = anchor UNION ALL SELECT mv_id FROM cs_objects WHERE ma_id = ? "
                                             "AND dn = ? AND dn <> anchor LIMIT 1"));
  st->BindInt(1, ma_id);
  st->BindText(2, dn);
  st->BindInt(3, ma_id);
  st->BindText(4, dn);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<int64_t> id;
  if (row && !st->IsNull(0)) id = st->ColumnInt(0);
  st->Reset();
  return id;
}

Result<std::optional<Store::ConnectorName>> Store::FindConnectorName(int64_t mv_id, int64_t ma_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT anchor, dn, export_dn FROM cs_objects WHERE mv_id = ? "
                                             "AND ma_id = ? AND link_state = 1 AND pending_export <> 3 LIMIT 1"));
  st->BindInt(1, mv_id);
  st->BindInt(2, ma_id);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<ConnectorName> name;
  if (row) {
    name = ConnectorName{std::string(st->ColumnText(0)),
                         std::string(st->IsNull(2) ? st->ColumnText(1) : st->ColumnText(2))};
  }
  st->Reset();
  return name;
}

Result<std::map<std::string, int64_t>> Store::FindMvIdsByAnchors(int64_t ma_id,
                                                                 const std::vector<std::string>& anchors) {
  std::map<std::string, int64_t> found;
  if (anchors.empty()) return found;
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT anchor, mv_id FROM cs_objects WHERE ma_id = ? AND anchor IN (" +
                                             InListPlaceholders() + ") AND mv_id IS NOT NULL"));
  IDSYNC_TRY(ForEachInListRow(
      *st, anchors, [&](Statement& s) { s.BindInt(1, ma_id); }, 2,
      [](Statement& s, int i, const std::string& a) { s.BindText(i, a); },
      [&](Statement& s) { found.emplace(std::string(s.ColumnText(0)), s.ColumnInt(1)); }));
  return found;
}

Result<std::map<int64_t, Store::ConnectorName>> Store::FindConnectorNames(const std::vector<int64_t>& mv_ids,
                                                                          int64_t ma_id) {
  IDSYNC_ASSIGN(auto named, FindNamedConnectors(mv_ids, ma_id));
  std::map<int64_t, ConnectorName> found;
  for (auto& [mv_id, c] : named) found.emplace_hint(found.end(), mv_id, std::move(c.name));
  return found;
}

Result<bool> Store::InsertCsIfNew(CsObject& o) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("INSERT INTO cs_objects (" IDSYNC_CS_DATA_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ma_id, anchor) DO NOTHING RETURNING id"));
  BindCs(*st, o);
  IDSYNC_ASSIGN(bool row, assume_new_ ? st->StepAssumingInsert() : st->Step());
  if (row) o.id = st->ColumnInt(0);
  st->Reset();
  if (row) IDSYNC_TRY(ListPendingExport(*db_, o.id, o.ma_id, o.pending_export, /*is_new=*/true));
  return row;
}

Status Store::InsertCs(CsObject& o) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("INSERT INTO cs_objects (" IDSYNC_CS_DATA_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  BindCs(*st, o);
  IDSYNC_ASSIGN(bool row, st->Step());
  if (!row) return Fail(ErrorCode::kDatabase, "connector space insert returned no id");
  o.id = st->ColumnInt(0);
  st->Reset();
  return ListPendingExport(*db_, o.id, o.ma_id, o.pending_export, /*is_new=*/true);
}

namespace {

// An imported state from columns first.. of `st`: id, dn, object_type,
// attrs, import_digest, pending_import.
Store::ImportedState ReadImportedState(Statement& st, int first) {
  return Store::ImportedState{st.ColumnInt(first), std::string(st.ColumnText(first + 1)),
                              std::string(st.ColumnText(first + 2)), std::string(st.ColumnBlob(first + 3)),
                              std::string(st.IsNull(first + 4) ? "" : st.ColumnBlob(first + 4)),
                              static_cast<PendingImport>(st.ColumnInt(first + 5))};
}

}  // namespace

Result<std::optional<Store::ImportedState>> Store::FindImportedState(int64_t ma_id, std::string_view anchor) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT id, dn, object_type, attrs, import_digest, pending_import "
                                             "FROM cs_objects WHERE ma_id = ? AND anchor = ?"));
  st->BindInt(1, ma_id);
  st->BindText(2, anchor);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<ImportedState> state;
  if (row) state = ReadImportedState(*st, 0);
  st->Reset();
  return state;
}

Result<std::unordered_map<std::string, Store::ImportedState>> Store::FindImportedStates(
    int64_t ma_id, const std::vector<std::string_view>& anchors) {
  std::unordered_map<std::string, ImportedState> found;
  if (anchors.empty()) return found;
  found.reserve(anchors.size());
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT anchor, id, dn, object_type, attrs, import_digest, "
                                             "pending_import FROM cs_objects WHERE ma_id = ? AND anchor IN (" +
                                             InListPlaceholders() + ")"));
  IDSYNC_TRY(ForEachInListRow(
      *st, anchors, [&](Statement& s) { s.BindInt(1, ma_id); }, 2,
      [](Statement& s, int i, std::string_view a) { s.BindText(i, a); },
      [&](Statement& s) {
        found.try_emplace(std::string(s.ColumnText(0)), ReadImportedState(s, 1));
      }));
  return found;
}

Result<int64_t> Store::InsertImported(const NewImport& o) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("INSERT INTO cs_objects (ma_id, anchor, dn, object_type, attrs, "
                                             "link_state, pending_import, import_digest) VALUES (?, ?, ?, ?, ?, ?, "
                                             "?, ?) RETURNING id"));
  st->BindInt(1, o.ma_id);
  st->BindText(2, o.anchor);
  st->BindText(3, o.dn);
  st->BindText(4, o.object_type);
  st->BindBlob(5, o.attrs);
  st->BindInt(6, static_cast<int>(LinkState::kNormalDisconnector));
  st->BindInt(7, static_cast<int>(o.pending_import));
  BindDigest(*st, 8, o.digest);
  IDSYNC_ASSIGN(bool row, st->Step());
  if (!row) return Fail(ErrorCode::kDatabase, "connector space insert returned no id");
  int64_t id = st->ColumnInt(0);
  st->Reset();
  return id;
}

Status Store::UpdateImported(const ImportedState& state) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("UPDATE cs_objects SET dn = ?, object_type = ?, attrs = ?, "
                                             "pending_import = ?, import_digest = ? WHERE id = ?"));
  st->BindText(1, state.dn);
  st->BindText(2, state.object_type);
  st->BindBlob(3, state.attrs);
  st->BindInt(4, static_cast<int>(state.pending_import));
  BindDigest(*st, 5, state.digest);
  st->BindInt(6, state.id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  return {};
}

Status Store::SetImportDigest(int64_t id, std::string_view digest) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("UPDATE cs_objects SET import_digest = ? WHERE id = ?"));
  BindDigest(*st, 1, digest);
  st->BindInt(2, id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  return {};
}

Status Store::ForEachImportDigest(int64_t ma_id, const std::function<void(std::string_view, int64_t)>& fn) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT import_digest, id FROM cs_objects WHERE ma_id = ? AND "
                                             "import_digest IS NOT NULL ORDER BY id"));
  st->BindInt(1, ma_id);
  while (true) {
    IDSYNC_ASSIGN(bool row, st->Step());
    if (!row) break;
    fn(st->ColumnBlob(0), st->ColumnInt(1));
  }
  st->Reset();
  return {};
}

Result<std::vector<int64_t>> Store::ListCsIds(int64_t ma_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT id FROM cs_objects WHERE ma_id = ?"));
  st->BindInt(1, ma_id);
  return ReadIds(*st);
}

Result<std::optional<Store::CsState>> Store::GetCsState(int64_t id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT id, pending_import, pending_export FROM cs_objects WHERE id = ?"));
  st->BindInt(1, id);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<CsState> state;
  if (row) {
    state = CsState{st->ColumnInt(0), static_cast<PendingImport>(st->ColumnInt(1)),
                    static_cast<PendingExport>(st->ColumnInt(2))};
  }
  st->Reset();
  return state;
}

Status Store::SetPendingImport(int64_t id, PendingImport pending) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("UPDATE cs_objects SET pending_import = ?, import_digest = NULL "
                                             "WHERE id = ?"));
  st->BindInt(1, static_cast<int>(pending));
  st->BindInt(2, id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  return {};
}

Status Store::UpdateCsLink(const CsObject& o) {
  const bool apart = IndexedColumnsApart(*db_);
  IDSYNC_ASSIGN(Statement * st, db_->Prepare(apart ? "UPDATE cs_objects SET link_state = ?, pending_import = ? "
                                                     "WHERE id = ?"
                                                   : "UPDATE cs_objects SET link_state = ?, pending_import = ?, "
                                                     "mv_id = ? WHERE id = ?"));
  int i = 1;
  st->BindInt(i++, static_cast<int>(o.link));
  st->BindInt(i++, static_cast<int>(o.pending_import));
  if (!apart) {
    if (o.mv_id) st->BindInt(i++, *o.mv_id);
    else st->BindNull(i++);
  }
  st->BindInt(i++, o.id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  return apart ? SetIndexedColumns(o, /*name=*/false) : Status{};
}

Status Store::SetIndexedColumns(const CsObject& o, bool name) {
  // A column of an index named in an UPDATE's SET has its index entry
  // deleted and inserted again on SQLite even when the value is the same,
  // which writes a page of that index: at a million objects a random page
  // of the anchor or the (mv_id, ma_id) index for every changed object.
  // So these columns are written by statements that change no row when
  // the stored values are the same (docs/performance.md, "Delta sync at
  // 1M"). PostgreSQL compares the values: an update that leaves every
  // indexed column as it was is a HOT update, without new index entries
  // (schema version 6; before it, pending_export in the partial indexes'
  // predicates made none HOT), so there the columns stay in the main
  // statement, where two more statements would only add row versions.
  if (name) {
    IDSYNC_ASSIGN(Statement * st, db_->Prepare("UPDATE cs_objects SET ma_id = ?, anchor = ?, dn = ? WHERE id = ? "
                                               "AND (ma_id <> ? OR anchor <> ? OR dn <> ?)"));
    st->BindInt(1, o.ma_id);
    st->BindText(2, o.anchor);
    st->BindText(3, o.dn);
    st->BindInt(4, o.id);
    st->BindInt(5, o.ma_id);
    st->BindText(6, o.anchor);
    st->BindText(7, o.dn);
    IDSYNC_TRY(st->Send());
    st->Reset();
  }
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("UPDATE cs_objects SET mv_id = ? WHERE id = ? AND mv_id IS "
                                             "DISTINCT FROM ?"));
  if (o.mv_id) {
    st->BindInt(1, *o.mv_id);
    st->BindInt(3, *o.mv_id);
  } else {
    st->BindNull(1);
    st->BindNull(3);
  }
  st->BindInt(2, o.id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  return {};
}

// Rows of one generation confirmed by one statement at least this many at a
// time; fewer go one statement each (a list statement costs more than a
// one-row one when it holds a row or two).
constexpr size_t kMinConfirmList = 4;

Result<int64_t> Store::ConfirmExported(const std::vector<ExportedRow>& rows) {
  // Each row is confirmed only if its generation is still the one the
  // export read: a row a sync changed since then no longer matches and stays
  // pending. Consecutive rows (in the order given, id order) that keep their
  // DN and share a generation, the usual case, are confirmed by one
  // statement per kInListKeys of them, `id IN (...) AND export_gen = ?`,
  // which checks every row exactly as its own statement would: SQLite's cost
  // per statement (opening a cursor on the table and each index the update
  // may change, binding, halting) was about a third of a one-row update's.
  // The rows are found by primary key; on PostgreSQL the updates are
  // pipelined (Send), and under READ COMMITTED an UPDATE re-checks its WHERE
  // on the newest version of a row another transaction changed, so the
  // check holds without a lock. The exported attributes are taken from the
  // row itself (unchanged, as the generation shows), not sent again.
  // Measured: docs/performance.md, "Import and export at 1M".
  constexpr const char* kKeepSet =
      "UPDATE cs_objects SET attrs = COALESCE(export_attrs, ?), export_attrs = NULL, export_dn = NULL, "
      "pending_export = 0, import_digest = NULL WHERE ";
  // With PendingExportsListed, each statement also takes the rows it
  // confirmed off the pending-export list (AndUnlisted).
  IDSYNC_ASSIGN(Statement * keep, db_->Prepare(AndUnlisted(*db_, std::string(kKeepSet) +
                                               "id = ? AND export_gen = ? AND pending_export <> 0")));
  IDSYNC_ASSIGN(Statement * keep_list, db_->Prepare(AndUnlisted(*db_, std::string(kKeepSet) + "id IN (" +
                                                    InListPlaceholders() +
                                                    ") AND export_gen = ? AND pending_export <> 0")));
  // DN and anchor are written only where they change: writing them
  // re-inserts the object into their indexes.
  IDSYNC_ASSIGN(Statement * move, db_->Prepare(AndUnlisted(*db_,
      "UPDATE cs_objects SET dn = COALESCE(export_dn, dn), anchor = CASE WHEN ? = 1 THEN COALESCE(export_dn, dn) "
      "ELSE anchor END, attrs = COALESCE(export_attrs, ?), export_attrs = NULL, export_dn = NULL, "
      "pending_export = 0, import_digest = NULL WHERE id = ? AND export_gen = ? AND pending_export <> 0")));
  // `+pending_export`: the row is found by its id. Without the plus,
  // PostgreSQL may read the whole partial index of pending deletes instead
  // when its statistics, taken before the sync marked them, hold none.
  // With AndUnlisted, the rows changed are those taken off the list, one
  // for each row deleted (a pending delete is listed).
  IDSYNC_ASSIGN(Statement * del, db_->Prepare(AndUnlisted(*db_, "DELETE FROM cs_objects WHERE id = ? AND "
                                                                "export_gen = ? AND +pending_export = 3")));
  const std::string no_attrs = EncodeAttributes({});
  // The run of plain confirmations not yet sent: ids of one generation.
  std::vector<int64_t> run;
  int64_t run_gen = 0;
  auto send_run = [&]() -> Status {
    if (run.size() >= kMinConfirmList) {
      for (size_t begin = 0; begin < run.size(); begin += kInListKeys) {
        keep_list->BindBlob(1, no_attrs);
        BindInListChunk(*keep_list, run, begin, 2, [](Statement& s, int i, int64_t id) { s.BindInt(i, id); });
        keep_list->BindInt(2 + static_cast<int>(kInListKeys), run_gen);
        IDSYNC_TRY(keep_list->Send());
        keep_list->Reset();
      }
    } else {
      for (int64_t id : run) {
        keep->BindBlob(1, no_attrs);
        keep->BindInt(2, id);
        keep->BindInt(3, run_gen);
        IDSYNC_TRY(keep->Send());
        keep->Reset();
      }
    }
    run.clear();
    return {};
  };
  int64_t confirmed = 0;
  for (const auto& r : rows) {
    if (r.pending != PendingExport::kDelete && !r.moves) {
      if (!run.empty() && (r.export_gen != run_gen || run.size() == kInListKeys)) IDSYNC_TRY(send_run());
      run_gen = r.export_gen;
      run.push_back(r.id);
      ++confirmed;
      continue;
    }
    IDSYNC_TRY(send_run());  // in order: the rows before this one first
    if (r.pending == PendingExport::kDelete) {
      del->BindInt(1, r.id);
      del->BindInt(2, r.export_gen);
      IDSYNC_TRY(del->Step());
      bool gone = del->ChangedRows() > 0;
      del->Reset();
      if (gone) {
        IDSYNC_TRY(ClearRefWaits(r.id));
        ++confirmed;
      }
      continue;
    }
    move->BindInt(1, r.dn_anchored ? 1 : 0);
    move->BindBlob(2, no_attrs);
    move->BindInt(3, r.id);
    move->BindInt(4, r.export_gen);
    IDSYNC_TRY(move->Send());
    move->Reset();
    ++confirmed;
  }
  IDSYNC_TRY(send_run());
  return confirmed;
}

Status Store::RecordOvertakenExports(int64_t ma_id, const std::vector<ExportedRow>& rows) {
  std::unordered_map<int64_t, const ExportedRow*> written;
  int64_t lo = 0, hi = 0;
  for (const auto& r : rows) {
    if (!r.has_written) continue;
    if (written.empty() || r.id < lo) lo = r.id;
    if (written.empty() || r.id > hi) hi = r.id;
    written.emplace(r.id, &r);
  }
  if (written.empty()) return {};
  // Confirmed rows are no longer pending, so the rows of the range still
  // pending are found in the small pending-export index: the overtaken ones,
  // and any that became pending after the export read (not in `written`).
  IDSYNC_ASSIGN(Statement * find,
                db_->Prepare(PendingExportsListed(*db_)
                                 ? "SELECT c.id, c.export_gen FROM cs_pending_exports p JOIN cs_objects c ON c.id = "
                                   "p.id WHERE p.ma_id = ? AND c.pending_export <> 0 AND p.id >= ? AND p.id <= ?"
                                 : "SELECT id, export_gen FROM cs_objects WHERE ma_id = ? AND pending_export <> 0 "
                                   "AND id >= ? AND id <= ?"));
  find->BindInt(1, ma_id);
  find->BindInt(2, lo);
  find->BindInt(3, hi);
  std::vector<std::pair<const ExportedRow*, int64_t>> overtaken;  // with the generation now
  while (true) {
    IDSYNC_ASSIGN(bool row, find->Step());
    if (!row) break;
    auto it = written.find(find->ColumnInt(0));
    if (it != written.end() && it->second->export_gen != find->ColumnInt(1))
      overtaken.emplace_back(it->second, find->ColumnInt(1));
  }
  find->Reset();
  if (overtaken.empty()) return {};
  // SET's right-hand sides see the row as it was: a withdrawn add (pending
  // delete with an export DN) loses its export DN and stays a delete, of
  // the DN written; an add becomes an update. The generation moves, as for
  // any change of the export state.
  IDSYNC_ASSIGN(Statement * st, db_->Prepare(
      "UPDATE cs_objects SET attrs = ?, dn = ?, anchor = CASE WHEN ? = 1 THEN ? ELSE anchor END, "
      "pending_export = CASE WHEN pending_export = 1 THEN 2 ELSE pending_export END, "
      "export_dn = CASE WHEN pending_export = 3 THEN NULL ELSE export_dn END, "
      "export_gen = export_gen + 1, import_digest = NULL WHERE id = ? AND export_gen = ?"));
  for (const auto& [r, gen] : overtaken) {
    st->BindBlob(1, r->written_attrs);
    st->BindText(2, r->written_dn);
    st->BindInt(3, r->dn_anchored ? 1 : 0);
    st->BindText(4, r->written_dn);
    st->BindInt(5, r->id);
    st->BindInt(6, gen);
    IDSYNC_TRY(st->Send());
    st->Reset();
  }
  return {};
}

Status Store::UpdateCs(const CsObject& o) {
  // The indexed columns (ma_id, anchor, dn, mv_id) are written apart on
  // SQLite, only when they change (SetIndexedColumns).
  const bool apart = IndexedColumnsApart(*db_);
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare(std::string("UPDATE cs_objects SET ") + (apart ? "" : "ma_id = ?, anchor = ?, dn = ?, ") +
                             "object_type = ?, attrs = ?, link_state = ?, " + (apart ? "" : "mv_id = ?, ") +
                             "pending_import = ?, pending_export = ?, export_attrs = ?, export_dn = ?, "
                             "import_digest = NULL, "
                             "export_gen = export_gen + CASE WHEN pending_export IS DISTINCT FROM ? OR "
                             "export_attrs IS DISTINCT FROM ? OR export_dn IS DISTINCT FROM ? THEN 1 ELSE 0 END "
                             "WHERE id = ?"));
  // The right-hand sides of SET see the row as it was, so the generation
  // moves exactly when the export state changes (see CsObject::export_gen).
  auto [export_attrs, i] = BindCs(*st, o, /*indexed=*/!apart);
  st->BindInt(i++, static_cast<int>(o.pending_export));
  if (o.export_attrs.empty()) st->BindNull(i++);
  else st->BindBlob(i++, export_attrs);
  if (o.export_dn.empty()) st->BindNull(i++);
  else st->BindText(i++, o.export_dn);
  st->BindInt(i++, o.id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  IDSYNC_TRY(ListPendingExport(*db_, o.id, o.ma_id, o.pending_export));
  return apart ? SetIndexedColumns(o, /*name=*/true) : Status{};
}

Status Store::MarkPendingSync(const std::vector<int64_t>& cs_ids) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("UPDATE cs_objects SET pending_import = 2 WHERE id = ? AND "
                                             "pending_import = 0"));
  for (int64_t id : cs_ids) {
    st->Reset();
    st->BindInt(1, id);
    IDSYNC_TRY(st->Send());
  }
  st->Reset();
  return {};
}

Status Store::DeleteCs(int64_t id) {
  IDSYNC_TRY(ClearRefWaits(id));
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("DELETE FROM cs_objects WHERE id = ?"));
  st->BindInt(1, id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  return ListPendingExport(*db_, id, 0, PendingExport::kNone);
}

Result<int64_t> Store::CountCs(int64_t ma_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT count(*) FROM cs_objects WHERE ma_id = ?"));
  st->BindInt(1, ma_id);
  return ReadCount(*st);
}

Result<int64_t> Store::CountPendingExports(int64_t ma_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare(PendingExportsListed(*db_)
                                                 ? "SELECT count(*) FROM cs_pending_exports WHERE ma_id = ?"
                                                 : "SELECT count(*) FROM cs_objects WHERE ma_id = ? AND "
                                                   "pending_export <> 0"));
  st->BindInt(1, ma_id);
  return ReadCount(*st);
}

Result<int64_t> Store::CountPendingExportDeletes(int64_t ma_id) {
  // Found in the small partial index of pending deletes. A withdrawn add
  // (see WithdrawnAdd) is not counted: its export writes nothing.
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare(PendingExportsListed(*db_)
                                 ? "SELECT count(*) FROM cs_pending_exports p JOIN cs_objects c ON c.id = p.id "
                                   "WHERE p.ma_id = ? AND c.pending_export = 3 AND c.export_dn IS NULL"
                                 : "SELECT count(*) FROM cs_objects WHERE ma_id = ? AND pending_export = 3 AND "
                                   "export_dn IS NULL"));
  st->BindInt(1, ma_id);
  return ReadCount(*st);
}

Result<std::unordered_map<int64_t, std::vector<CsObject>>> Store::ListCsByMvs(const std::vector<int64_t>& mv_ids,
                                                                              const std::vector<int64_t>& undecoded) {
  std::unordered_map<int64_t, std::vector<CsObject>> found;
  found.reserve(mv_ids.size());
  for (int64_t id : mv_ids) found.try_emplace(id);
  if (mv_ids.empty()) return found;
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT " IDSYNC_CS_COLUMNS " FROM cs_objects WHERE mv_id IN (" +
                                             InListPlaceholders() + ")"));
  Status decoded;
  std::unordered_map<int64_t, int64_t> seen;  // object id -> its MV id (a key repeated in two chunks)
  IDSYNC_TRY(ForEachInListRow(
      *st, mv_ids, [](Statement&) {}, 1, [](Statement& s, int i, int64_t id) { s.BindInt(i, id); },
      [&](Statement& s) {
        if (!decoded) return;
        const int64_t id = s.ColumnInt(0);
        auto o = ReadCs(s, !std::binary_search(undecoded.begin(), undecoded.end(), id));
        if (!o) {
          decoded = tl::unexpected(o.error());
          return;
        }
        if (!seen.emplace(o->id, *o->mv_id).second) return;
        found[*o->mv_id].push_back(std::move(*o));
      }));
  IDSYNC_TRY(decoded);
  for (auto& [mv_id, list] : found)
    std::sort(list.begin(), list.end(), [](const CsObject& a, const CsObject& b) { return a.id < b.id; });
  return found;
}

Result<std::vector<Store::MvConnectorName>> Store::ListMvConnectorNames(const std::vector<int64_t>& mv_ids,
                                                                       const std::vector<int64_t>& ma_ids) {
  std::vector<MvConnectorName> found;
  if (mv_ids.empty() || ma_ids.empty()) return found;
  // `+ma_id`: the MA is tested on the (mv_id, ma_id) index entry after one
  // seek per MV id, not sought once per MA; the table row is read only for
  // the MAs asked for.
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("SELECT mv_id, ma_id, id, anchor, dn, export_dn, link_state, pending_export FROM "
                             "cs_objects WHERE mv_id IN (" +
                             InListPlaceholders() + ") AND +ma_id IN (" + Placeholders(ma_ids.size()) + ")"));
  const int first_ma = static_cast<int>(kInListKeys) + 1;
  IDSYNC_TRY(ForEachInListRow(
      *st, mv_ids,
      [&](Statement& s) {
        for (size_t i = 0; i < ma_ids.size(); ++i) s.BindInt(first_ma + static_cast<int>(i), ma_ids[i]);
      },
      1, [](Statement& s, int i, int64_t id) { s.BindInt(i, id); },
      [&](Statement& s) {
        MvConnectorName c;
        c.mv_id = s.ColumnInt(0);
        c.ma_id = s.ColumnInt(1);
        c.cs_id = s.ColumnInt(2);
        c.name.anchor = s.ColumnText(3);
        c.name.dn = s.IsNull(5) ? s.ColumnText(4) : s.ColumnText(5);
        c.link = static_cast<LinkState>(s.ColumnInt(6));
        c.pending_export = static_cast<PendingExport>(s.ColumnInt(7));
        found.push_back(std::move(c));
      }));
  return found;
}

Result<std::map<int64_t, Store::NamedConnector>> Store::FindNamedConnectors(const std::vector<int64_t>& mv_ids,
                                                                             int64_t ma_id) {
  std::map<int64_t, NamedConnector> found;
  if (mv_ids.empty()) return found;
  // The lowest id answers, as FindConnectorName's index walk finds it first.
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("SELECT mv_id, id, anchor, dn, export_dn FROM cs_objects WHERE mv_id IN (" +
                             InListPlaceholders() +
                             ") AND ma_id = ? AND link_state = 1 AND pending_export <> 3 ORDER BY mv_id, id"));
  IDSYNC_TRY(ForEachInListRow(
      *st, mv_ids, [&](Statement& s) { s.BindInt(static_cast<int>(kInListKeys) + 1, ma_id); }, 1,
      [](Statement& s, int i, int64_t id) { s.BindInt(i, id); },
      [&](Statement& s) {
        NamedConnector c{s.ColumnInt(1), {std::string(s.ColumnText(2)),
                                          std::string(s.IsNull(4) ? s.ColumnText(3) : s.ColumnText(4))}};
        auto [it, added] = found.try_emplace(s.ColumnInt(0), c);
        if (!added && c.cs_id < it->second.cs_id) it->second = std::move(c);
      }));
  return found;
}

}  // namespace idsync
