// Store: metaverse objects and the join-key index.
#include <algorithm>

#include <fmt/format.h>

#include "store/statement_util.h"
#include "store/store.h"

namespace idsync {
namespace {

std::string EncodeContributors(const MvObject& o) { return EncodeStringPairs(o.contributors); }

Result<MvObject> ReadMv(Statement& st) {
  MvObject o;
  o.id = st.ColumnInt(0);
  o.object_type = st.ColumnText(1);
  IDSYNC_ASSIGN(o.attrs, DecodeAttributes(st.ColumnBlob(2)));
  IDSYNC_ASSIGN(o.contributors, DecodeStringPairs(st.ColumnBlob(3)));
  return o;
}

}  // namespace

Result<std::optional<MvObject>> Store::GetMv(int64_t id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT id, object_type, attrs, contributors FROM "
                                             "mv_objects WHERE id = ?"));
  st->BindInt(1, id);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<MvObject> out;
  if (row) {
    IDSYNC_ASSIGN(out, ReadMv(*st));
  }
  st->Reset();
  return out;
}

Status Store::InsertMv(MvObject& o) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("INSERT INTO mv_objects (object_type, attrs, "
                                             "contributors) VALUES (?, ?, ?) RETURNING id"));
  st->BindText(1, o.object_type);
  st->BindBlob(2, EncodeAttributes(o.attrs));
  st->BindBlob(3, EncodeContributors(o));
  IDSYNC_ASSIGN(bool row, st->Step());
  if (!row) return Fail(ErrorCode::kDatabase, "metaverse insert returned no id");
  o.id = st->ColumnInt(0);
  st->Reset();
  return {};
}

Status Store::UpdateMv(const MvObject& o) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("UPDATE mv_objects SET object_type = ?, attrs = ?, "
                                             "contributors = ? WHERE id = ?"));
  st->BindText(1, o.object_type);
  st->BindBlob(2, EncodeAttributes(o.attrs));
  st->BindBlob(3, EncodeContributors(o));
  st->BindInt(4, o.id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  return {};
}

Status Store::DeleteMv(int64_t id) {
  IDSYNC_TRY(SetMvKeys(id, {}));
  IDSYNC_TRY(SetMvRefs(id, {}));
  IDSYNC_ASSIGN(Statement * refs, db_->Prepare("DELETE FROM mv_refs WHERE to_id = ?"));
  refs->BindInt(1, id);
  IDSYNC_TRY(refs->Send());
  refs->Reset();
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("DELETE FROM mv_objects WHERE id = ?"));
  st->BindInt(1, id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  return {};
}

Status Store::SetMvKeys(int64_t mv_id, const std::vector<std::pair<std::string, std::string>>& keys,
                        bool is_new) {
  if (!is_new) {
    IDSYNC_ASSIGN(Statement * del, db_->Prepare("DELETE FROM mv_keys WHERE mv_id = ?"));
    del->BindInt(1, mv_id);
    IDSYNC_TRY(del->Send());
    del->Reset();
  }
  if (keys.empty()) return {};
  IDSYNC_ASSIGN(Statement * ins, db_->Prepare("INSERT INTO mv_keys (attr, value, mv_id) VALUES "
                                              "(?, ?, ?) ON CONFLICT DO NOTHING"));
  for (const auto& [attr, value] : keys) {
    ins->Reset();
    ins->BindText(1, attr);
    ins->BindText(2, value);
    ins->BindInt(3, mv_id);
    IDSYNC_TRY(ins->Send());
  }
  ins->Reset();
  return {};
}

static constexpr const char* kInsertRef =
    "INSERT INTO mv_refs (to_id, from_id) VALUES (?, ?) ON CONFLICT DO NOTHING";

Status Store::SetMvRefs(int64_t from_id, const std::vector<int64_t>& to_ids, bool is_new) {
  if (!is_new) {
    IDSYNC_ASSIGN(Statement * del, db_->Prepare("DELETE FROM mv_refs WHERE from_id = ?"));
    del->BindInt(1, from_id);
    IDSYNC_TRY(del->Send());
    del->Reset();
  }
  if (to_ids.empty()) return {};
  IDSYNC_ASSIGN(Statement * ins, db_->Prepare(kInsertRef));
  return SendEach(*ins, to_ids, from_id);
}

Status Store::ChangeMvRefs(int64_t from_id, const std::vector<int64_t>& removed, const std::vector<int64_t>& added) {
  if (!removed.empty()) {
    IDSYNC_ASSIGN(Statement * del, db_->Prepare("DELETE FROM mv_refs WHERE to_id = ? AND from_id = ?"));
    IDSYNC_TRY(SendEach(*del, removed, from_id));
  }
  if (added.empty()) return {};
  IDSYNC_ASSIGN(Statement * ins, db_->Prepare(kInsertRef));
  return SendEach(*ins, added, from_id);
}

Result<std::vector<int64_t>> Store::ListMvReferrers(int64_t to_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT from_id FROM mv_refs WHERE to_id = ? ORDER BY from_id"));
  st->BindInt(1, to_id);
  return ReadIds(*st);
}

Result<std::unordered_map<int64_t, std::vector<int64_t>>> Store::ListMvReferrersOf(const std::vector<int64_t>& to_ids) {
  std::unordered_map<int64_t, std::vector<int64_t>> found;
  if (to_ids.empty()) return found;
  found.reserve(to_ids.size());
  for (int64_t id : to_ids) found.try_emplace(id);
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT to_id, from_id FROM mv_refs WHERE to_id IN (" +
                                             InListPlaceholders() + ")"));
  IDSYNC_TRY(ForEachInListRow(
      *st, to_ids, [](Statement&) {}, 1, [](Statement& s, int i, int64_t id) { s.BindInt(i, id); },
      [&](Statement& s) { found[s.ColumnInt(0)].push_back(s.ColumnInt(1)); }));
  // An id repeated in two chunks is read twice.
  for (auto& [to_id, from_ids] : found) {
    std::sort(from_ids.begin(), from_ids.end());
    from_ids.erase(std::unique(from_ids.begin(), from_ids.end()), from_ids.end());
  }
  return found;
}

Status Store::AddRefWait(int64_t ma_id, std::string_view value, int64_t cs_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("INSERT INTO ref_waits (ma_id, value, cs_id) VALUES (?, ?, ?) "
                                             "ON CONFLICT DO NOTHING"));
  st->BindInt(1, ma_id);
  st->BindText(2, value);
  st->BindInt(3, cs_id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  return {};
}

Result<std::vector<int64_t>> Store::TakeRefWaits(int64_t ma_id, std::string_view value) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("DELETE FROM ref_waits WHERE ma_id = ? AND value = ? RETURNING cs_id"));
  st->BindInt(1, ma_id);
  st->BindText(2, value);
  return ReadIds(*st);
}

Result<bool> Store::HasRefWaits(int64_t ma_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT 1 FROM ref_waits WHERE ma_id = ? LIMIT 1"));
  st->BindInt(1, ma_id);
  return ReadExists(*st);
}

Status Store::AddExportWait(int64_t ma_id, int64_t to_id, int64_t from_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("INSERT INTO export_waits (ma_id, to_id, from_id) VALUES (?, ?, ?) "
                                             "ON CONFLICT DO NOTHING"));
  st->BindInt(1, ma_id);
  st->BindInt(2, to_id);
  st->BindInt(3, from_id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  return {};
}

Result<std::vector<int64_t>> Store::TakeExportWaits(int64_t ma_id, int64_t to_id) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("DELETE FROM export_waits WHERE ma_id = ? AND to_id = ? RETURNING from_id"));
  st->BindInt(1, ma_id);
  st->BindInt(2, to_id);
  return ReadIds(*st);
}

Result<bool> Store::HasExportWaits(int64_t ma_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT 1 FROM export_waits WHERE ma_id = ? LIMIT 1"));
  st->BindInt(1, ma_id);
  return ReadExists(*st);
}

Status Store::ClearRefWaits(int64_t cs_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("DELETE FROM ref_waits WHERE cs_id = ?"));
  st->BindInt(1, cs_id);
  IDSYNC_TRY(st->Send());
  st->Reset();
  return {};
}

Result<std::vector<int64_t>> Store::FindMvByKey(std::string_view attr, std::string_view value) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT mv_id FROM mv_keys WHERE attr = ? AND value = ? "
                                             "ORDER BY mv_id"));
  st->BindText(1, attr);
  st->BindText(2, value);
  return ReadIds(*st);
}

Result<std::vector<MvObject>> Store::SearchMv(std::string_view attr, std::string_view value, int limit) {
  std::vector<MvObject> out;
  // The key index holds lower-cased values of join attributes only, so a
  // search always scans; it is an administrator's tool, not a hot path.
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT id, object_type, attrs, contributors FROM "
                                             "mv_objects WHERE id > ? ORDER BY id LIMIT 5000"));
  int64_t after = 0;
  while (static_cast<int>(out.size()) < limit) {
    st->Reset();
    st->BindInt(1, after);
    bool any = false;
    while (true) {
      IDSYNC_ASSIGN(bool row, st->Step());
      if (!row) break;
      any = true;
      IDSYNC_ASSIGN(MvObject o, ReadMv(*st));
      after = o.id;
      auto it = o.attrs.find(attr);
      if (it == o.attrs.end()) continue;
      for (const auto& v : it->second) {
        if (v == value && static_cast<int>(out.size()) < limit) {
          out.push_back(o);
          break;
        }
      }
    }
    if (!any) break;
  }
  st->Reset();
  return out;
}

Result<std::unordered_map<int64_t, MvObject>> Store::GetMvs(const std::vector<int64_t>& ids) {
  std::unordered_map<int64_t, MvObject> found;
  if (ids.empty()) return found;
  found.reserve(ids.size());
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT id, object_type, attrs, contributors FROM mv_objects WHERE id IN (" +
                                             InListPlaceholders() + ")"));
  Status decoded;
  IDSYNC_TRY(ForEachInListRow(
      *st, ids, [](Statement&) {}, 1, [](Statement& s, int i, int64_t id) { s.BindInt(i, id); },
      [&](Statement& s) {
        if (!decoded) return;
        auto o = ReadMv(s);
        if (!o) decoded = tl::unexpected(o.error());
        else found.insert_or_assign(o->id, std::move(*o));
      }));
  IDSYNC_TRY(decoded);
  return found;
}

Result<std::unordered_map<std::string, std::vector<int64_t>>> Store::FindMvIdsByKeys(
    std::string_view attr, const std::vector<std::string>& values) {
  std::unordered_map<std::string, std::vector<int64_t>> found;
  if (values.empty()) return found;
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT value, mv_id FROM mv_keys WHERE attr = ? AND value IN (" +
                                             InListPlaceholders() + ")"));
  IDSYNC_TRY(ForEachInListRow(
      *st, values, [&](Statement& s) { s.BindText(1, attr); }, 2,
      [](Statement& s, int i, const std::string& v) { s.BindText(i, v); },
      [&](Statement& s) { found[std::string(s.ColumnText(0))].push_back(s.ColumnInt(1)); }));
  // A value repeated in two chunks is read twice.
  for (auto& [value, ids] : found) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  return found;
}

}  // namespace idsync
