#include "tests/support/fault_injection.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <map>

namespace idsync {
namespace {

// Atomic: an export counts its writes on its writer thread while the
// engine's thread counts statements.
std::atomic<int64_t> g_countdown = 0;
std::atomic<int64_t> g_seen = 0;

void Tick() {
  ++g_seen;
  if (g_countdown > 0 && --g_countdown == 0) raise(SIGKILL);
}

Status Run(const std::function<Status()>& hook) { return hook ? hook() : Status(); }

class HookedStatement final : public Statement {
 public:
  HookedStatement(Statement* inner, const DbHooks& hooks) : inner_(inner), hooks_(hooks) {}
  void BindInt(int i, int64_t v) override { inner_->BindInt(i, v); }
  void BindText(int i, std::string_view v) override { inner_->BindText(i, v); }
  void BindBlob(int i, std::string_view v) override { inner_->BindBlob(i, v); }
  void BindNull(int i) override { inner_->BindNull(i); }
  Result<bool> Step() override {
    IDSYNC_TRY(Run(hooks_.before_step));
    return inner_->Step();
  }
  Status Send() override {
    IDSYNC_TRY(Run(hooks_.before_send));
    return inner_->Send();
  }
  bool IsNull(int c) override { return inner_->IsNull(c); }
  int64_t ColumnInt(int c) override { return inner_->ColumnInt(c); }
  std::string_view ColumnText(int c) override { return inner_->ColumnText(c); }
  std::string_view ColumnBlob(int c) override { return inner_->ColumnBlob(c); }
  void Reset() override { inner_->Reset(); }
  int64_t ChangedRows() override { return inner_->ChangedRows(); }

 private:
  Statement* inner_;
  const DbHooks& hooks_;
};

class HookedDbImpl final : public Db {
 public:
  HookedDbImpl(std::unique_ptr<Db> inner, DbHooks hooks) : inner_(std::move(inner)), hooks_(std::move(hooks)) {}
  Result<Statement*> Prepare(std::string_view sql) override {
    IDSYNC_ASSIGN(Statement * st, inner_->Prepare(sql));
    if (hooks_.wraps && !hooks_.wraps(sql)) return st;
    auto& wrapper = wrappers_[st];
    if (!wrapper) wrapper = std::make_unique<HookedStatement>(st, hooks_);
    return wrapper.get();
  }
  Status Exec(std::string_view sql) override {
    IDSYNC_TRY(Run(hooks_.before_exec));
    return inner_->Exec(sql);
  }
  Status BeginWrite() override {
    IDSYNC_TRY(Run(hooks_.before_begin));
    return inner_->BeginWrite();
  }
  Status Commit() override {
    IDSYNC_TRY(Run(hooks_.before_commit));
    return inner_->Commit();
  }
  void Rollback() override { inner_->Rollback(); }
  bool InTransaction() const override { return inner_->InTransaction(); }
  Result<bool> TableExists(std::string_view name) override { return inner_->TableExists(name); }
  Status LockClusterRow() override { return inner_->LockClusterRow(); }
  Status LockForMigration() override { return inner_->LockForMigration(); }
  Result<bool> AssumedInsertsHeld() override { return inner_->AssumedInsertsHeld(); }
  std::string_view Backend() const override { return inner_->Backend(); }
  const std::string& Location() const override { return inner_->Location(); }

 private:
  std::unique_ptr<Db> inner_;
  const DbHooks hooks_;
  std::map<Statement*, std::unique_ptr<HookedStatement>> wrappers_;
};

class KillingSession final : public ExportSession {
 public:
  explicit KillingSession(std::unique_ptr<ExportSession> inner) : inner_(std::move(inner)) {}
  Status Write(const ExportChange& change) override {
    Tick();
    return inner_->Write(change);
  }
  Status Commit() override {
    Tick();
    return inner_->Commit();
  }

 private:
  std::unique_ptr<ExportSession> inner_;
};

class KillingConnectorImpl final : public Connector {
 public:
  explicit KillingConnectorImpl(std::unique_ptr<Connector> inner) : inner_(std::move(inner)) {}
  Status FullImport(ImportSink& sink) override { return inner_->FullImport(sink); }
  Status DeltaImport(ImportSink& sink) override { return inner_->DeltaImport(sink); }
  bool ExportsSnapshots() const override { return inner_->ExportsSnapshots(); }
  Result<std::unique_ptr<ExportSession>> BeginExport(int64_t batch_id) override {
    IDSYNC_ASSIGN(auto session, inner_->BeginExport(batch_id));
    return std::unique_ptr<ExportSession>(std::make_unique<KillingSession>(std::move(session)));
  }
  Status ExportSnapshot(const SnapshotSource& next) override {
    return inner_->ExportSnapshot([&](SnapshotObject& o) -> Result<bool> {
      Tick();
      return next(o);
    });
  }

 private:
  std::unique_ptr<Connector> inner_;
};

}  // namespace

void SetKillCountdown(int64_t events) {
  g_countdown = events;
  g_seen = 0;
}

int64_t EventsSeen() { return g_seen; }

std::unique_ptr<Db> KillingDb(std::unique_ptr<Db> inner) {
  auto tick = [] {
    Tick();
    return Status();
  };
  return HookedDb(std::move(inner), DbHooks{.before_step = tick, .before_send = tick, .before_exec = tick,
                                            .before_commit = tick});
}

std::unique_ptr<Db> HookedDb(std::unique_ptr<Db> inner, DbHooks hooks) {
  return std::make_unique<HookedDbImpl>(std::move(inner), std::move(hooks));
}

std::unique_ptr<Connector> KillingConnector(std::unique_ptr<Connector> inner) {
  return std::make_unique<KillingConnectorImpl>(std::move(inner));
}

}  // namespace idsync
