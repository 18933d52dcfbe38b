#include "store/store.h"

#include <ctime>

#include <fmt/format.h>

#include "store/schema.h"

namespace idsync {

std::string_view LinkStateName(LinkState s) {
  switch (s) {
    case LinkState::kNormalDisconnector: return "normal-disconnector";
    case LinkState::kConnector: return "connector";
    case LinkState::kExplicitDisconnector: return "explicit-disconnector";
    case LinkState::kFilteredDisconnector: return "filtered-disconnector";
  }
  return "unknown";
}

std::string_view PendingImportName(PendingImport p) {
  switch (p) {
    case PendingImport::kNone: return "none";
    case PendingImport::kAdd: return "add";
    case PendingImport::kUpdate: return "update";
    case PendingImport::kDelete: return "delete";
  }
  return "unknown";
}

std::string_view PendingExportName(PendingExport p) {
  switch (p) {
    case PendingExport::kNone: return "none";
    case PendingExport::kAdd: return "add";
    case PendingExport::kUpdate: return "update";
    case PendingExport::kDelete: return "delete";
  }
  return "unknown";
}

Store::Store(std::unique_ptr<Db> db) : db_(std::move(db)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(std::string_view url, const StoreOptions& options) {
  DbOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.read_only = options.read_only;
  IDSYNC_ASSIGN(auto db, OpenDb(url, db_options));
  std::unique_ptr<Store> store(new Store(std::move(db)));
  IDSYNC_ASSIGN(store->schema_version_, ReadSchemaVersion(*store->db_));
  return store;
}

Result<std::unique_ptr<Store>> Store::Wrap(std::unique_ptr<Db> db) {
  std::unique_ptr<Store> store(new Store(std::move(db)));
  IDSYNC_TRY(store->Migrate());
  return store;
}

Status Store::Migrate() {
  IDSYNC_TRY(idsync::Migrate(*db_));
  IDSYNC_ASSIGN(schema_version_, ReadSchemaVersion(*db_));
  return {};
}

Status Store::BeginWriteMigrating() {
  IDSYNC_TRY(db_->BeginWrite());
  auto version = [&]() -> Result<int64_t> {
    IDSYNC_TRY(MigrateInTransaction(*db_));
    return ReadSchemaVersion(*db_);
  }();
  if (!version) {
    db_->Rollback();
    return tl::unexpected(version.error());
  }
  version_before_migrating_ = schema_version_;
  schema_version_ = *version;
  return {};
}

void Store::FenceAs(std::string server, int64_t epoch) { fence_ = {std::move(server), epoch}; }

Status Store::CheckWritable() const {
  if (schema_version_ == 0) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("database {} holds no idsync installation; create one with "
                            "`idsync-setup install`",
                            db_->Location()));
  }
  return CheckSchemaVersion(schema_version_, db_->Location());
}

Status Store::CheckFence() {
  if (!fence_) return {};
  IDSYNC_TRY(db_->LockClusterRow());
  IDSYNC_ASSIGN(Cluster cluster, GetCluster());
  const std::string& active = cluster.active_server;
  const int64_t epoch = cluster.epoch;
  if (active != fence_->first || epoch != fence_->second) {
    return Fail(ErrorCode::kFenced,
                fmt::format("server {} is no longer active: the database names {} active at epoch "
                            "{} (this server held epoch {}); this server now runs as standby",
                            fence_->first, active.empty() ? "no server" : active, epoch,
                            fence_->second));
  }
  return {};
}

Status Store::BeginWrite() {
  IDSYNC_TRY(CheckWritable());
  IDSYNC_TRY(db_->BeginWrite());
  auto fenced = CheckFence();
  if (!fenced) {
    db_->Rollback();
    return fenced;
  }
  return {};
}

Status Store::Commit() {
  auto st = db_->Commit();
  if (!st) {
    Rollback();
    return st;
  }
  version_before_migrating_.reset();
  return st;
}

void Store::Rollback() {
  db_->Rollback();
  if (version_before_migrating_) schema_version_ = *version_before_migrating_;
  version_before_migrating_.reset();
}

namespace {
Status RunCached(Db& db, const char* sql) {
  IDSYNC_ASSIGN(Statement * st, db.Prepare(sql));
  IDSYNC_TRY(st->Step());
  st->Reset();
  return {};
}
}  // namespace

Status Store::Savepoint() { return RunCached(*db_, "SAVEPOINT idsync_object"); }
Status Store::ReleaseSavepoint() { return RunCached(*db_, "RELEASE SAVEPOINT idsync_object"); }
Status Store::RollbackToSavepoint() {
  IDSYNC_TRY(RunCached(*db_, "ROLLBACK TO SAVEPOINT idsync_object"));
  return ReleaseSavepoint();
}

Status Store::WithWrite(const std::function<Status()>& fn) {
  IDSYNC_TRY(BeginWrite());
  auto st = fn();
  if (!st) {
    Rollback();
    return st;
  }
  return Commit();
}

}  // namespace idsync
