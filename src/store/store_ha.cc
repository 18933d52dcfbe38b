// Store: servers and their services, activation, the key set record,
// management agent secrets and principals.
#include <fmt/format.h>

#include "store/statement_util.h"
#include "store/store.h"

namespace idsync {
namespace {

std::string TextOr(Statement& st, int column) {
  return st.IsNull(column) ? std::string() : std::string(st.ColumnText(column));
}

int64_t IntOr(Statement& st, int column) { return st.IsNull(column) ? 0 : st.ColumnInt(column); }

constexpr const char* kServerColumns =
    "name, home, host, version, api, role, state, registered_at, started_at, stopped_at, heartbeat_at, pid, "
    "epoch, heartbeat_ms, heartbeat_interval_ms";

Store::ServerRecord ReadServer(Statement& st) {
  Store::ServerRecord r;
  r.name = TextOr(st, 0);
  r.home = TextOr(st, 1);
  r.host = TextOr(st, 2);
  r.version = TextOr(st, 3);
  r.api = TextOr(st, 4);
  r.role = TextOr(st, 5);
  r.state = TextOr(st, 6);
  r.registered_at = TextOr(st, 7);
  r.started_at = TextOr(st, 8);
  r.stopped_at = TextOr(st, 9);
  r.heartbeat_at = TextOr(st, 10);
  r.pid = IntOr(st, 11);
  r.epoch = IntOr(st, 12);
  r.heartbeat_ms = IntOr(st, 13);
  r.heartbeat_interval_ms = IntOr(st, 14);
  return r;
}

Status StepOnce(Statement& st) {
  IDSYNC_TRY(st.Step());
  st.Reset();
  return {};
}

}  // namespace

Result<Store::Cluster> Store::GetCluster() {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT active_server, epoch FROM cluster WHERE id = 1"));
  IDSYNC_ASSIGN(bool row, st->Step());
  if (!row) return Fail(ErrorCode::kDatabase, "the cluster row is missing from the database");
  Cluster c{TextOr(*st, 0), st->ColumnInt(1)};
  st->Reset();
  return c;
}

Result<std::vector<Store::ServerRecord>> Store::ListServers() {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare(fmt::format("SELECT {} FROM servers ORDER BY name", kServerColumns)));
  std::vector<ServerRecord> out;
  while (true) {
    IDSYNC_ASSIGN(bool row, st->Step());
    if (!row) break;
    out.push_back(ReadServer(*st));
  }
  st->Reset();
  return out;
}

Result<std::optional<Store::ServerRecord>> Store::GetServer(std::string_view name) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare(fmt::format("SELECT {} FROM servers WHERE name = ?", kServerColumns)));
  st->BindText(1, name);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<ServerRecord> out;
  if (row) out = ReadServer(*st);
  st->Reset();
  return out;
}

Status Store::RecordServiceStart(const ServerRecord& s) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("UPDATE servers SET host = ?, version = ?, pid = ?, api = ?, role = ?, epoch = ?, "
                             "heartbeat_ms = ?, heartbeat_at = ?, heartbeat_interval_ms = ?, started_at = ?, "
                             "stopped_at = NULL, state = 'running' WHERE name = ?"));
  st->BindText(1, s.host);
  st->BindText(2, s.version);
  st->BindInt(3, s.pid);
  st->BindText(4, s.api);
  st->BindText(5, s.role);
  st->BindInt(6, s.epoch);
  st->BindInt(7, s.heartbeat_ms);
  st->BindText(8, UtcOfMs(s.heartbeat_ms));
  st->BindInt(9, s.heartbeat_interval_ms);
  st->BindText(10, NowUtc());
  st->BindText(11, s.name);
  IDSYNC_TRY(st->Step());
  bool found = st->ChangedRows() == 1;
  st->Reset();
  if (!found)
    return Fail(ErrorCode::kNotFound,
                fmt::format("server '{}' is not registered in {}; install it with `idsync-setup install`", s.name,
                            db_->Location()));
  return {};
}

Status Store::RecordHeartbeat(std::string_view server, std::string_view role, int64_t epoch, int64_t now_ms) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("UPDATE servers SET role = ?, epoch = ?, heartbeat_ms = ?, "
                                             "heartbeat_at = ?, state = 'running' WHERE name = ?"));
  st->BindText(1, role);
  st->BindInt(2, epoch);
  st->BindInt(3, now_ms);
  st->BindText(4, UtcOfMs(now_ms));
  st->BindText(5, server);
  return StepOnce(*st);
}

Status Store::RecordServiceStop(std::string_view server) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("UPDATE servers SET state = 'stopped', stopped_at = ?, pid = NULL WHERE name = ?"));
  st->BindText(1, NowUtc());
  st->BindText(2, server);
  return StepOnce(*st);
}

Status Store::AddServerEvent(std::string_view server, std::string_view event, std::string_view detail) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("INSERT INTO server_events (server, at, event, detail) VALUES (?, ?, ?, ?)"));
  st->BindText(1, server);
  st->BindText(2, NowUtc());
  st->BindText(3, event);
  st->BindText(4, detail);
  return StepOnce(*st);
}

Result<std::vector<Store::ServerEvent>> Store::ListServerEvents(std::string_view server, int limit) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT server, at, event, detail FROM server_events "
                                             "WHERE server = ? OR ? = '' ORDER BY id DESC LIMIT ?"));
  st->BindText(1, server);
  st->BindText(2, server);
  st->BindInt(3, limit);
  std::vector<ServerEvent> out;
  while (true) {
    IDSYNC_ASSIGN(bool row, st->Step());
    if (!row) break;
    out.push_back({TextOr(*st, 0), TextOr(*st, 1), TextOr(*st, 2), TextOr(*st, 3)});
  }
  st->Reset();
  return out;
}

Result<int64_t> Store::ActivateServer(const ActivationRecord& r) {
  IDSYNC_ASSIGN(Statement * upd, db_->Prepare("UPDATE cluster SET active_server = ?, epoch = ? "
                                              "WHERE id = 1 AND epoch = ?"));
  upd->BindText(1, r.server);
  upd->BindInt(2, r.from_epoch + 1);
  upd->BindInt(3, r.from_epoch);
  IDSYNC_TRY(upd->Step());
  bool won = upd->ChangedRows() == 1;
  upd->Reset();
  if (!won) {
    IDSYNC_ASSIGN(Cluster now, GetCluster());
    return Fail(ErrorCode::kBusy,
                fmt::format("another activation came first: {} is now active at epoch {} (this activation "
                            "expected epoch {}); check `idsync status` before trying again",
                            now.active_server.empty() ? "no server" : now.active_server, now.epoch,
                            r.from_epoch));
  }
  IDSYNC_ASSIGN(Statement * ins,
                db_->Prepare("INSERT INTO activations (kind, server, previous_server, from_epoch, to_epoch, "
                             "account, os_user, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  ins->BindText(1, r.kind);
  ins->BindText(2, r.server);
  if (r.previous_server.empty())
    ins->BindNull(3);
  else
    ins->BindText(3, r.previous_server);
  ins->BindInt(4, r.from_epoch);
  ins->BindInt(5, r.from_epoch + 1);
  ins->BindText(6, r.account);
  ins->BindText(7, r.os_user);
  ins->BindText(8, r.at.empty() ? NowUtc() : r.at);
  IDSYNC_TRY(StepOnce(*ins));
  return r.from_epoch + 1;
}

Result<std::vector<Store::ActivationRecord>> Store::ListActivations(int limit) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("SELECT kind, server, previous_server, from_epoch, to_epoch, account, os_user, at "
                             "FROM activations ORDER BY id DESC LIMIT ?"));
  st->BindInt(1, limit);
  std::vector<ActivationRecord> out;
  while (true) {
    IDSYNC_ASSIGN(bool row, st->Step());
    if (!row) break;
    ActivationRecord r;
    r.kind = TextOr(*st, 0);
    r.server = TextOr(*st, 1);
    r.previous_server = TextOr(*st, 2);
    r.from_epoch = st->ColumnInt(3);
    r.to_epoch = st->ColumnInt(4);
    r.account = TextOr(*st, 5);
    r.os_user = TextOr(*st, 6);
    r.at = TextOr(*st, 7);
    out.push_back(std::move(r));
  }
  st->Reset();
  return out;
}

Result<std::optional<Store::ServiceAccount>> Store::GetServiceAccount() {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT domain, name, password_hash FROM service_account WHERE id = 1"));
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<ServiceAccount> out;
  if (row) out = ServiceAccount{TextOr(*st, 0), TextOr(*st, 1), TextOr(*st, 2)};
  st->Reset();
  return out;
}

Result<std::vector<Store::RoleGroup>> Store::ListRoleGroups() {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT role, scope, name FROM role_groups ORDER BY role"));
  std::vector<RoleGroup> out;
  while (true) {
    IDSYNC_ASSIGN(bool row, st->Step());
    if (!row) break;
    out.push_back({TextOr(*st, 0), TextOr(*st, 1), TextOr(*st, 2)});
  }
  st->Reset();
  return out;
}

Result<std::optional<Store::KeySetRecord>> Store::GetKeySetRecord() {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT set_id, active_version FROM key_set WHERE id = 1"));
  IDSYNC_ASSIGN(bool row, st->Step());
  if (!row) {
    st->Reset();
    return std::optional<KeySetRecord>();
  }
  KeySetRecord r;
  r.set_id = TextOr(*st, 0);
  r.active_version = static_cast<uint32_t>(st->ColumnInt(1));
  st->Reset();
  IDSYNC_ASSIGN(Statement * checks, db_->Prepare("SELECT version, check_value FROM key_checks ORDER BY version"));
  while (true) {
    IDSYNC_ASSIGN(bool more, checks->Step());
    if (!more) break;
    r.checks[static_cast<uint32_t>(checks->ColumnInt(0))] = TextOr(*checks, 1);
  }
  checks->Reset();
  return std::optional<KeySetRecord>(std::move(r));
}

Status Store::SetKeySetRecord(const KeySetRecord& r) {
  std::string now = NowUtc();
  IDSYNC_ASSIGN(Statement * set,
                db_->Prepare("INSERT INTO key_set (id, set_id, active_version, updated_at) VALUES (1, ?, ?, ?) "
                             "ON CONFLICT (id) DO UPDATE SET set_id = excluded.set_id, "
                             "active_version = excluded.active_version, updated_at = excluded.updated_at"));
  set->BindText(1, r.set_id);
  set->BindInt(2, r.active_version);
  set->BindText(3, now);
  IDSYNC_TRY(StepOnce(*set));
  IDSYNC_TRY(db_->Exec("DELETE FROM key_checks"));
  IDSYNC_ASSIGN(Statement * ins,
                db_->Prepare("INSERT INTO key_checks (version, check_value, created_at) VALUES (?, ?, ?)"));
  for (const auto& [version, check] : r.checks) {
    ins->BindInt(1, version);
    ins->BindText(2, check);
    ins->BindText(3, now);
    IDSYNC_TRY(StepOnce(*ins));
  }
  return {};
}

Status Store::PutSecret(const SecretRecord& s) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("INSERT INTO ma_secrets (ma, name, sealed, key_version, updated_at) "
                             "VALUES (?, ?, ?, ?, ?) ON CONFLICT (ma, name) DO UPDATE SET sealed = excluded.sealed, "
                             "key_version = excluded.key_version, updated_at = excluded.updated_at"));
  st->BindText(1, s.ma);
  st->BindText(2, s.name);
  st->BindText(3, s.sealed);
  st->BindInt(4, s.key_version);
  st->BindText(5, NowUtc());
  return StepOnce(*st);
}

Result<std::optional<Store::SecretRecord>> Store::GetSecret(std::string_view ma, std::string_view name) {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("SELECT ma, name, sealed, key_version FROM ma_secrets WHERE ma = ? AND name = ?"));
  st->BindText(1, ma);
  st->BindText(2, name);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<SecretRecord> out;
  if (row)
    out = SecretRecord{TextOr(*st, 0), TextOr(*st, 1), TextOr(*st, 2), static_cast<uint32_t>(st->ColumnInt(3))};
  st->Reset();
  return out;
}

Result<std::vector<Store::SecretRecord>> Store::ListSecrets() {
  IDSYNC_ASSIGN(Statement * st,
                db_->Prepare("SELECT ma, name, sealed, key_version FROM ma_secrets ORDER BY ma, name"));
  std::vector<SecretRecord> out;
  while (true) {
    IDSYNC_ASSIGN(bool row, st->Step());
    if (!row) break;
    out.push_back({TextOr(*st, 0), TextOr(*st, 1), TextOr(*st, 2), static_cast<uint32_t>(st->ColumnInt(3))});
  }
  st->Reset();
  return out;
}

Status Store::DeleteSecret(std::string_view ma, std::string_view name) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("DELETE FROM ma_secrets WHERE ma = ? AND name = ?"));
  st->BindText(1, ma);
  st->BindText(2, name);
  return StepOnce(*st);
}

Status Store::DeleteAllSecrets() { return db_->Exec("DELETE FROM ma_secrets"); }

Result<int64_t> Store::AddPrincipal(std::string_view kind, std::string_view domain, std::string_view name) {
  IDSYNC_ASSIGN(auto existing, FindPrincipal(domain, name));
  if (existing)
    return Fail(ErrorCode::kAlreadyExists,
                fmt::format("principal {}\\{} already exists (a {})", existing->domain, existing->name,
                            existing->kind));
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("INSERT INTO principals (kind, domain, name, created_at) "
                                             "VALUES (?, ?, ?, ?) RETURNING id"));
  st->BindText(1, kind);
  st->BindText(2, domain);
  st->BindText(3, name);
  st->BindText(4, NowUtc());
  IDSYNC_ASSIGN(bool row, st->Step());
  int64_t id = row ? st->ColumnInt(0) : 0;
  st->Reset();
  return id;
}

Result<std::optional<Store::Principal>> Store::FindPrincipal(std::string_view domain, std::string_view name) {
  // Domain account names compare without regard to (ASCII) case.
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT id, kind, domain, name FROM principals "
                                             "WHERE lower(domain) = lower(?) AND lower(name) = lower(?)"));
  st->BindText(1, domain);
  st->BindText(2, name);
  IDSYNC_ASSIGN(bool row, st->Step());
  std::optional<Principal> out;
  if (row) out = Principal{st->ColumnInt(0), TextOr(*st, 1), TextOr(*st, 2), TextOr(*st, 3)};
  st->Reset();
  return out;
}

namespace {
Result<std::vector<Store::Principal>> ReadPrincipals(Statement& st) {
  std::vector<Store::Principal> out;
  while (true) {
    IDSYNC_ASSIGN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.ColumnInt(0), TextOr(st, 1), TextOr(st, 2), TextOr(st, 3)});
  }
  st.Reset();
  return out;
}
}  // namespace

Result<std::vector<Store::Principal>> Store::ListPrincipals() {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT id, kind, domain, name FROM principals ORDER BY domain, name"));
  return ReadPrincipals(*st);
}

Status Store::RemovePrincipal(int64_t id) {
  IDSYNC_ASSIGN(Statement * members,
                db_->Prepare("DELETE FROM principal_members WHERE group_id = ? OR member_id = ?"));
  members->BindInt(1, id);
  members->BindInt(2, id);
  IDSYNC_TRY(StepOnce(*members));
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("DELETE FROM principals WHERE id = ?"));
  st->BindInt(1, id);
  return StepOnce(*st);
}

Status Store::AddMember(int64_t group_id, int64_t member_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("INSERT INTO principal_members (group_id, member_id) VALUES (?, ?) "
                                             "ON CONFLICT DO NOTHING"));
  st->BindInt(1, group_id);
  st->BindInt(2, member_id);
  return StepOnce(*st);
}

Status Store::RemoveMember(int64_t group_id, int64_t member_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("DELETE FROM principal_members WHERE group_id = ? AND member_id = ?"));
  st->BindInt(1, group_id);
  st->BindInt(2, member_id);
  return StepOnce(*st);
}

Result<std::vector<Store::Principal>> Store::ListMembers(int64_t group_id) {
  IDSYNC_ASSIGN(Statement * st, db_->Prepare("SELECT p.id, p.kind, p.domain, p.name FROM principal_members m "
                                             "JOIN principals p ON p.id = m.member_id WHERE m.group_id = ? "
                                             "ORDER BY p.domain, p.name"));
  st->BindInt(1, group_id);
  return ReadPrincipals(*st);
}

}  // namespace idsync
