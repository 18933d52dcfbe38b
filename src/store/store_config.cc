// Store: meta values, configuration documents and management agent ids.
#include "store/store.h"

namespace idsync {

Result<std::optional<std::string>> Store::GetMeta(std::string_view key) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT value FROM meta WHERE key = ?"));
  st->BindText(1, key);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<std::string> value;
  if (row) value = std::string(st->ColumnText(0));
  st->Reset();
  return value;
}

Status Store::SetMeta(std::string_view key, std::string_view value) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("INSERT INTO meta (key, value) VALUES (?, ?) "
                                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  st->BindText(1, key);
  st->BindText(2, value);
  IDSYNC_TRY(st->Step());
  return {};
}

Result<std::vector<ConfigDocument>> Store::LoadConfig() {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT name, content FROM config_documents ORDER BY name"));
  std::vector<ConfigDocument> docs;
  while (true) {
    IDSYNC_ASSIGN(bool row, st->Step());
    if (!row) break;
    docs.push_back({std::string(st->ColumnText(0)), std::string(st->ColumnText(1))});
  }
  return docs;
}

Status Store::ReplaceConfig(const std::vector<ConfigDocument>& docs) {
  IDSYNC_TRY(db_->Exec("DELETE FROM config_documents"));
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("INSERT INTO config_documents (name, content) VALUES (?, ?)"));
  for (const auto& doc : docs) {
    st->Reset();
    st->BindText(1, doc.name);
    st->BindText(2, doc.content);
    IDSYNC_TRY(st->Step());
  }
  return {};
}

Result<std::optional<int64_t>> Store::FindManagementAgent(std::string_view name) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT id FROM management_agents WHERE name = ?"));
  st->BindText(1, name);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<int64_t> id;
  if (row) id = st->ColumnInt(0);
  st->Reset();
  return id;
}

Result<int64_t> Store::EnsureManagementAgent(std::string_view name) {
  IDSYNC_ASSIGN(auto existing, FindManagementAgent(name));
  if (existing) return *existing;
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("INSERT INTO management_agents (name) VALUES (?) RETURNING id"));
  st->BindText(1, name);
  IDSYNC_ASSIGN(bool row, st->Step());
  if (!row) return Fail(ErrorCode::kDatabase, "management agent insert returned no id");
  int64_t id = st->ColumnInt(0);
  st->Reset();
  return id;
}

}  // namespace idsync
