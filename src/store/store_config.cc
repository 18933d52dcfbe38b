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

namespace {
// Runs one statement with text parameters.
Status RunWith(Db& db, const char* sql, std::initializer_list<std::string_view> params) {
  IDSYNC_ASSIGN(Statement * st, db.Prepare(sql));
  int i = 1;
  for (auto p : params) st->BindText(i++, p);
  IDSYNC_TRY(st->Step());
  st->Reset();
  return {};
}
}  // namespace

Status Store::SetServiceAccount(std::string_view domain, std::string_view user, std::string_view password_hash) {
  return RunWith(*db_, "INSERT INTO service_account (id, domain, name, password_hash) VALUES (1, ?, ?, ?) "
                       "ON CONFLICT (id) DO UPDATE SET domain = excluded.domain, name = excluded.name, "
                       "password_hash = excluded.password_hash",
                 {domain, user, password_hash});
}

Status Store::SetRoleGroup(std::string_view role, std::string_view scope, std::string_view name) {
  return RunWith(*db_, "INSERT INTO role_groups (role, scope, name) VALUES (?, ?, ?) ON CONFLICT (role) DO "
                       "UPDATE SET scope = excluded.scope, name = excluded.name",
                 {role, scope, name});
}

Status Store::RegisterServer(std::string_view name, std::string_view home) {
  std::string now = NowUtc();
  return RunWith(*db_, "INSERT INTO servers (name, home, registered_at, state) VALUES (?, ?, ?, 'stopped')",
                 {name, home, now});
}

Status Store::SetActiveServer(std::string_view server, int64_t epoch) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("UPDATE cluster SET active_server = ?, epoch = ? WHERE id = 1"));
  st->BindText(1, server);
  st->BindInt(2, epoch);
  IDSYNC_TRY(st->Step());
  st->Reset();
  return {};
}

Result<std::string> Store::ManagementAgentName(int64_t id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT name FROM management_agents WHERE id = ?"));
  st->BindInt(1, id);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::string name = row ? std::string(st->ColumnText(0)) : std::to_string(id);
  st->Reset();
  return name;
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
