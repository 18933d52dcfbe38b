// The Store's guarantees that the engine and the service rely on.
#include "store/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <set>

#include "store/schema.h"
#include "store/sqlite/sqlite_db.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {

std::unique_ptr<Store> MemoryStore() {
  auto store = Store::Wrap(OpenFreshTestDb());
  EXPECT_TRUE(store) << store.error().message;
  return std::move(*store);
}

// A person of MA 1 with anchor `anchor` and DN cn=`anchor`.
CsObject PersonInMa1(const std::string& anchor, PendingExport pending) {
  CsObject o;
  o.ma_id = 1;
  o.anchor = anchor;
  o.dn = "cn=" + anchor;
  o.object_type = "person";
  o.pending_export = pending;
  return o;
}

Status SetCluster(Store& store, const std::string& server, int64_t epoch) {
  return store.db().Exec("UPDATE cluster SET active_server = '" + server + "', epoch = " + std::to_string(epoch));
}

TEST(StoreTest, AFencedWriteFailsInsideItsTransactionAndWritesNothing) {
  auto store = MemoryStore();
  ASSERT_TRUE(SetCluster(*store, "alpha", 3));
  store->FenceAs("alpha", 3);
  ASSERT_TRUE(store->WithWrite([&] { return store->SetMeta("k", "v1"); }));
  ASSERT_TRUE(SetCluster(*store, "beta", 4));  // another server was activated
  auto st = store->WithWrite([&] { return store->SetMeta("k", "v2"); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kFenced);
  EXPECT_NE(st.error().message.find("names beta active at epoch 4"), std::string::npos) << st.error().message;
  EXPECT_FALSE(store->db().InTransaction());
  EXPECT_EQ(store->GetMeta("k")->value_or(""), "v1");
}

TEST(StoreTest, ANewerSchemaRefusesWritesButAllowsReads) {
  TempDir dir;
  std::string url = FreshTestDbUrl(dir.path());
  {
    auto store = Store::Open(url, StoreOptions{.create_if_missing = true});
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->Migrate());
    ASSERT_TRUE((*store)->db().Exec("UPDATE meta SET value = '7' WHERE key = 'schema_version'"));
  }
  auto store = Store::Open(url, {});
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)->schema_version(), 7);
  auto st = (*store)->WithWrite([&] { return (*store)->SetMeta("k", "v"); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kSchemaMismatch);
  EXPECT_EQ(HexCodeFor(st.error().code), 0x80230443u);
  EXPECT_TRUE((*store)->ListRuns(10));
  auto migrate = (*store)->Migrate();
  ASSERT_FALSE(migrate);
  EXPECT_EQ(migrate.error().code, ErrorCode::kSchemaMismatch);
}

TEST(StoreTest, ARunLockOfADeadProcessIsTakenOverAndItsRunMarkedInterrupted) {
  auto store = MemoryStore();
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // `child` is now a pid with no process
  int64_t run = 0;
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    RunRecord record;
    record.ma = "hr";
    record.profile = "full-import";
    record.status = "in-progress";
    record.server = "alpha";
    IDSYNC_ASSIGN(run, store->StartRun(record));
    IDSYNC_ASSIGN(bool got, store->AcquireRunLock("hr", run, "alpha", child));
    EXPECT_TRUE(got);
    return {};
  }));
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    IDSYNC_ASSIGN(bool live_other, store->AcquireRunLock("hr", run + 1, "alpha", getpid()));
    EXPECT_TRUE(live_other) << "the dead holder's lock must be taken over";
    IDSYNC_ASSIGN(bool again, store->AcquireRunLock("hr", run + 2, "alpha", getpid()));
    EXPECT_FALSE(again) << "a live holder keeps its lock";
    return {};
  }));
  EXPECT_EQ((*store->GetRun(run))->status, "stopped-interrupted");
}

TEST(StoreTest, ALiveRunLockOfADeposedServerIsTakenOverAndItsRunMarkedNotActive) {
  auto store = MemoryStore();
  int64_t run = 0;
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    RunRecord record;
    record.ma = "hr";
    record.profile = "export";
    record.status = "in-progress";
    record.server = "alpha";
    IDSYNC_ASSIGN(run, store->StartRun(record));
    IDSYNC_ASSIGN(bool got, store->AcquireRunLock("hr", run, "alpha", getpid()));
    EXPECT_TRUE(got);
    // Only the active server writes, so a lock held by another server was
    // left by one that has been deposed, however alive its process is.
    IDSYNC_ASSIGN(bool taken, store->AcquireRunLock("hr", run + 1, "beta", getpid()));
    EXPECT_TRUE(taken);
    return {};
  }));
  EXPECT_EQ((*store->GetRun(run))->status, "stopped-not-active");
}

TEST(StoreTest, RollingBackToASavepointUndoesOnlyThatObject) {
  auto store = MemoryStore();
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    IDSYNC_TRY(store->SetMeta("a", "1"));
    IDSYNC_TRY(store->Savepoint());
    IDSYNC_TRY(store->SetMeta("b", "2"));
    IDSYNC_TRY(store->RollbackToSavepoint());
    IDSYNC_TRY(store->Savepoint());
    IDSYNC_TRY(store->SetMeta("c", "3"));
    return store->ReleaseSavepoint();
  }));
  EXPECT_EQ(store->GetMeta("a")->value_or(""), "1");
  EXPECT_FALSE(store->GetMeta("b")->has_value());
  EXPECT_EQ(store->GetMeta("c")->value_or(""), "3");
}

TEST(StoreTest, ConnectorSpaceObjectsRoundTripAndAreFoundByAnchorAndDn) {
  auto store = MemoryStore();
  CsObject o;
  o.ma_id = 1;
  o.anchor = "42";
  o.dn = "cn=x,dc=example";
  o.object_type = "person";
  o.attrs["cn"] = {"x"};
  o.pending_export = PendingExport::kUpdate;
  o.export_attrs["cn"] = {"y"};
  o.export_dn = "cn=y,dc=example";
  ASSERT_TRUE(store->WithWrite([&] { return store->InsertCs(o); }));
  auto by_anchor = store->FindCsByAnchor(1, "42");
  ASSERT_TRUE(by_anchor && *by_anchor);
  EXPECT_EQ((*by_anchor)->export_attrs, o.export_attrs);
  EXPECT_EQ((*by_anchor)->export_dn, "cn=y,dc=example");
  auto by_dn = store->FindCsByDn(1, "cn=x,dc=example");
  ASSERT_TRUE(by_dn && *by_dn);
  EXPECT_EQ((*by_dn)->id, o.id);
  EXPECT_FALSE(*store->FindCsByDn(2, "cn=x,dc=example"));
  CsObject twin = o;
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    IDSYNC_ASSIGN(bool inserted, store->InsertCsIfNew(twin));
    EXPECT_FALSE(inserted) << "the anchor is unique per MA";
    return {};
  }));
}

}  // namespace
}  // namespace idsync

namespace idsync {
namespace {

// The digest of the record an object was staged from may only describe
// the object's state: every write that can change that state forgets it.
TEST(StoreTest, AnImportDigestIsKeptByLinkWritesAndForgottenByEveryOtherWrite) {
  auto store = MemoryStore();
  CsObject o;
  o.ma_id = 1;
  o.anchor = "x";
  o.dn = "x";
  o.object_type = "person";
  o.attrs = {{"cn", {"X"}}};
  auto digest = [&]() {
    auto state = store->FindImportedState(1, "x");
    EXPECT_TRUE(state && *state);
    return state && *state ? (*state)->digest : "?";
  };
  auto set_digest = [&](std::string d) { return store->WithWrite([&] { return store->SetImportDigest(o.id, d); }); };
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    IDSYNC_ASSIGN(o.id, store->InsertImported({.ma_id = o.ma_id, .anchor = o.anchor, .dn = o.dn,
                                               .object_type = o.object_type, .attrs = EncodeAttributes(o.attrs),
                                               .digest = "d1", .pending_import = PendingImport::kNone}));
    return {};
  }));
  EXPECT_EQ(digest(), "d1");
  std::vector<std::pair<std::string, int64_t>> listed;
  ASSERT_TRUE(store->ForEachImportDigest(1, [&](std::string_view d, int64_t id) { listed.emplace_back(d, id); }));
  EXPECT_EQ(listed, (std::vector<std::pair<std::string, int64_t>>{{"d1", o.id}}));

  o.link = LinkState::kConnector;
  ASSERT_TRUE(store->WithWrite([&] { return store->UpdateCsLink(o); }));
  EXPECT_EQ(digest(), "d1");
  ASSERT_TRUE(store->WithWrite([&] { return store->UpdateCs(o); }));
  EXPECT_EQ(digest(), "");

  ASSERT_TRUE(set_digest("d2"));
  EXPECT_EQ(digest(), "d2");
  ASSERT_TRUE(store->WithWrite([&] { return store->SetPendingImport(o.id, PendingImport::kDelete); }));
  EXPECT_EQ(digest(), "");

  // A confirmed export makes the exported state the known one.
  o.pending_import = PendingImport::kNone;
  o.pending_export = PendingExport::kUpdate;
  o.export_attrs = {{"cn", {"Y"}}};
  ASSERT_TRUE(store->WithWrite([&] { return store->UpdateCs(o); }));
  ASSERT_TRUE(set_digest("d3"));
  auto read = store->GetCs(o.id);
  ASSERT_TRUE(read && *read);
  Store::ExportedRow row{.id = o.id, .export_gen = (*read)->export_gen, .pending = PendingExport::kUpdate};
  ASSERT_TRUE(store->WithWrite([&]() -> Status { return store->ConfirmExported({row}).map([](auto) {}); }));
  EXPECT_EQ(digest(), "");

  auto state = store->FindImportedState(1, "x");
  ASSERT_TRUE(state && *state);
  (*state)->digest = "d4";
  ASSERT_TRUE(store->WithWrite([&] { return store->UpdateImported(**state); }));
  EXPECT_EQ(digest(), "d4");
  listed.clear();
  ASSERT_TRUE(store->ForEachImportDigest(2, [&](std::string_view d, int64_t id) { listed.emplace_back(d, id); }));
  EXPECT_TRUE(listed.empty()) << "digests are per MA";
}

// An export confirms a row only if its export state is still the one the
// export read: the generation moves with every change of that state (and
// only then), and a confirmation with an older generation changes nothing.
TEST(StoreTest, AnExportIsConfirmedOnlyForTheExportStateItRead) {
  auto store = MemoryStore();
  CsObject o = PersonInMa1("x", PendingExport::kAdd);
  o.export_attrs = {{"cn", {"X"}}};
  ASSERT_TRUE(store->WithWrite([&] { return store->InsertCs(o); }));
  auto gen = [&]() {
    auto read = store->GetCs(o.id);
    EXPECT_TRUE(read && *read);
    return read && *read ? (*read)->export_gen : -1;
  };
  const int64_t read_gen = gen();
  o.link = LinkState::kConnector;  // not export state
  ASSERT_TRUE(store->WithWrite([&] { return store->UpdateCs(o); }));
  EXPECT_EQ(gen(), read_gen);
  o.export_attrs = {{"cn", {"X2"}}};
  ASSERT_TRUE(store->WithWrite([&] { return store->UpdateCs(o); }));
  EXPECT_EQ(gen(), read_gen + 1);
  o.export_dn = "cn=x2";
  ASSERT_TRUE(store->WithWrite([&] { return store->UpdateCs(o); }));
  EXPECT_EQ(gen(), read_gen + 2);

  Store::ExportedRow stale{.id = o.id, .export_gen = read_gen, .pending = PendingExport::kAdd, .moves = true};
  auto confirmed = int64_t{-1};
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    IDSYNC_ASSIGN(confirmed, store->ConfirmExported({stale}));
    return {};
  }));
  auto still = store->GetCs(o.id);
  ASSERT_TRUE(still && *still);
  EXPECT_EQ((*still)->pending_export, PendingExport::kAdd);
  EXPECT_EQ((*still)->export_attrs, (AttributeMap{{"cn", {"X2"}}}));
  EXPECT_EQ((*still)->dn, "cn=x");

  Store::ExportedRow current = stale;
  current.export_gen = gen();
  ASSERT_TRUE(store->WithWrite([&]() -> Status { return store->ConfirmExported({current}).map([](auto) {}); }));
  auto done = store->GetCs(o.id);
  ASSERT_TRUE(done && *done);
  EXPECT_EQ((*done)->pending_export, PendingExport::kNone);
  EXPECT_EQ((*done)->attrs, (AttributeMap{{"cn", {"X2"}}}));
  EXPECT_EQ((*done)->dn, "cn=x2");
  EXPECT_EQ((*done)->anchor, "x");
}

// Rows confirmed together (consecutive, one generation, in lists of up to
// 64) are each checked as by their own statement: a row whose export state
// changed after the read, in the middle of a list or at its end, stays
// pending with its new state, and a row read with another generation splits
// the rows around it without being skipped.
TEST(StoreTest, RowsConfirmedTogetherAreEachCheckedForTheGenerationRead) {
  auto store = MemoryStore();
  std::vector<CsObject> objects;
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    for (int i = 0; i < 150; ++i) {
      CsObject o = PersonInMa1("p" + std::to_string(i), PendingExport::kAdd);
      o.dn = o.anchor;  // a plain confirmation: the DN does not move
      o.export_attrs = {{"cn", {"v" + std::to_string(i)}}};
      IDSYNC_TRY(store->InsertCs(o));
      objects.push_back(std::move(o));
    }
    return {};
  }));
  // Changed before the read: read with a newer generation than its neighbours.
  objects[100].export_attrs = {{"cn", {"early"}}};
  ASSERT_TRUE(store->WithWrite([&] { return store->UpdateCs(objects[100]); }));
  std::vector<Store::ExportedRow> read;
  for (const auto& o : objects) {
    auto row = store->GetCs(o.id);
    ASSERT_TRUE(row && *row);
    read.push_back({.id = o.id, .export_gen = (*row)->export_gen, .pending = PendingExport::kAdd});
  }
  // Changed after the read, before the confirmation.
  const std::vector<int> changed = {3, 63, 70, 149};
  for (int i : changed) {
    objects[i].export_attrs = {{"cn", {"late"}}};
    ASSERT_TRUE(store->WithWrite([&] { return store->UpdateCs(objects[i]); }));
  }
  ASSERT_TRUE(store->WithWrite([&]() -> Status { return store->ConfirmExported(read).map([](auto) {}); }));
  for (int i = 0; i < 150; ++i) {
    auto row = store->GetCs(objects[i].id);
    ASSERT_TRUE(row && *row);
    if (std::find(changed.begin(), changed.end(), i) != changed.end()) {
      EXPECT_EQ((*row)->pending_export, PendingExport::kAdd) << i;
      EXPECT_EQ((*row)->export_attrs, (AttributeMap{{"cn", {"late"}}})) << i;
      continue;
    }
    EXPECT_EQ((*row)->pending_export, PendingExport::kNone) << i;
    EXPECT_EQ((*row)->attrs, objects[i].export_attrs) << i;
  }
}

// The deletion threshold counts what an export would delete: a withdrawn
// add (a pending add that a sync deleted while an export held it) deletes
// nothing in the target, so it is not counted.
TEST(StoreTest, AWithdrawnAddIsNotCountedAmongPendingDeletes) {
  auto store = MemoryStore();
  CsObject gone = PersonInMa1("gone", PendingExport::kDelete);
  CsObject withdrawn = PersonInMa1("withdrawn", PendingExport::kDelete);
  withdrawn.export_dn = "cn=withdrawn";
  ASSERT_TRUE(WithdrawnAdd(withdrawn.pending_export, withdrawn.export_dn));
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    IDSYNC_TRY(store->InsertCs(gone));
    return store->InsertCs(withdrawn);
  }));
  auto deletes = store->CountPendingExportDeletes(1);
  ASSERT_TRUE(deletes) << deletes.error().message;
  EXPECT_EQ(*deletes, 1);
}

// The upgrade to schema version 5: a batch that an export of the previous
// release left open (rows marked with its number) becomes the range of its
// rows, so that it is written again as the same batch; no row keeps a mark.
TEST(StoreTest, AnUpgradeFromSchemaVersion3KeepsAnOpenExportBatchAsTheRangeOfItsRows) {
  TempDir dir;
  auto store = Store::Open(FreshTestDbUrl(dir.path()), StoreOptions{.create_if_missing = true});
  ASSERT_TRUE(store) << store.error().message;
  Db& db = (*store)->db();
  ASSERT_TRUE(MigrateTo(db, 3));
  ASSERT_TRUE(db.BeginWrite());
  ASSERT_TRUE(db.Exec("INSERT INTO management_agents (id, name) VALUES (1, 'directory')"));
  ASSERT_TRUE(db.Exec("INSERT INTO export_batches (ma_id, state, created_at) VALUES "
                      "(1, 'done', '2026-01-01T00:00:00Z'), (1, 'open', '2026-01-01T00:00:00Z')"));
  auto open_id = db.Prepare("SELECT id FROM export_batches WHERE state = 'open'");
  ASSERT_TRUE(open_id);
  ASSERT_TRUE((*open_id)->Step());
  const int64_t batch = (*open_id)->ColumnInt(0);
  (*open_id)->Reset();
  auto insert = db.Prepare("INSERT INTO cs_objects (id, ma_id, anchor, dn, object_type, pending_export, "
                           "export_batch) VALUES (?, 1, ?, ?, 'person', ?, ?)");
  ASSERT_TRUE(insert);
  // id, pending export, in the open batch
  const std::vector<std::array<int64_t, 3>> rows = {{1, 0, 0}, {2, 1, 0}, {3, 1, 1}, {4, 2, 1}, {5, 1, 0}};
  for (const auto& r : rows) {
    (*insert)->BindInt(1, r[0]);
    (*insert)->BindText(2, "cn=" + std::to_string(r[0]));
    (*insert)->BindText(3, "cn=" + std::to_string(r[0]));
    (*insert)->BindInt(4, r[1]);
    if (r[2]) (*insert)->BindInt(5, batch);
    else (*insert)->BindNull(5);
    ASSERT_TRUE((*insert)->Step());
    (*insert)->Reset();
  }
  ASSERT_TRUE(db.Commit());

  ASSERT_TRUE((*store)->Migrate());
  EXPECT_EQ((*store)->schema_version(), kSchemaVersion);
  auto open = (*store)->OpenExportBatch(1);
  ASSERT_TRUE(open && *open);
  EXPECT_EQ((*open)->id, batch);
  EXPECT_EQ((*open)->after_id, 2);
  EXPECT_EQ((*open)->last_id, 4);
  auto listed = (*store)->ListCs(CsQuery{.ma_id = 1, .after_id = (*open)->after_id, .pending_export_only = true,
                                        .through_id = (*open)->last_id});
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, 3);
  EXPECT_EQ((*listed)[1].id, 4);
  EXPECT_EQ((*listed)[0].export_gen, 0);
  auto marked = db.Prepare("SELECT count(*) FROM cs_objects WHERE export_batch IS NOT NULL");
  ASSERT_TRUE(marked);
  ASSERT_TRUE((*marked)->Step());
  EXPECT_EQ((*marked)->ColumnInt(0), 0);
  (*marked)->Reset();
  // After it, a new batch takes the next pending exports by id.
  std::optional<Store::ExportBatch> next;
  auto created = (*store)->WithWrite([&]() -> Status {
    IDSYNC_TRY((*store)->CompleteExportBatch(batch));
    IDSYNC_ASSIGN(next, (*store)->CreateExportBatch(1, 4, 10));
    return {};
  });
  ASSERT_TRUE(created) << created.error().message;
  ASSERT_TRUE(next);
  EXPECT_EQ(next->after_id, 4);
  EXPECT_EQ(next->last_id, 5);
}
// The ids of MA `ma_id`'s rows whose pending_export is not 0, read row by
// row (what the pending-export list must hold).
std::vector<int64_t> PendingByRows(Store& store, int64_t ma_id) {
  std::vector<int64_t> ids;
  auto all = store.ListCs(CsQuery{.ma_id = ma_id, .limit = 1000});
  EXPECT_TRUE(all) << all.error().message;
  if (!all) return ids;
  for (const auto& o : *all)
    if (o.pending_export != PendingExport::kNone) ids.push_back(o.id);
  return ids;
}

// What the store lists and counts as pending exports of MA `ma_id`.
std::vector<int64_t> PendingListed(Store& store, int64_t ma_id) {
  std::vector<int64_t> ids;
  auto listed = store.ListCs(CsQuery{.ma_id = ma_id, .limit = 1000, .pending_export_only = true});
  EXPECT_TRUE(listed) << listed.error().message;
  if (!listed) return ids;
  for (const auto& o : *listed) ids.push_back(o.id);
  auto counted = store.CountPendingExports(ma_id);
  EXPECT_TRUE(counted);
  if (counted) {
    EXPECT_EQ(*counted, static_cast<int64_t>(ids.size()));
  }
  return ids;
}

// Every way an object's pending export changes (insert, update, the
// confirmation of an add, an update, a move and a delete, a confirmation
// of a generation no longer current, the object's removal) keeps the
// pending exports that the export lists and counts equal to the rows that
// are pending (on PostgreSQL they are a table of their own, kept by the
// store; schema.cc, version 6), for each MA apart.
TEST(StoreTest, ThePendingExportsListedAreTheRowsPendingAfterEveryChange) {
  auto store = MemoryStore();
  auto check = [&](const char* step) {
    for (int64_t ma : {1, 2}) {
      EXPECT_EQ(PendingListed(*store, ma), PendingByRows(*store, ma)) << step << ", MA " << ma;
    }
  };
  std::vector<CsObject> o;
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    for (int i = 0; i < 8; ++i) {
      CsObject x = PersonInMa1("p" + std::to_string(i), i % 2 ? PendingExport::kAdd : PendingExport::kNone);
      x.ma_id = i < 6 ? 1 : 2;
      x.dn = x.anchor;
      x.export_attrs = {{"cn", {x.anchor}}};
      if (i == 5) {
        IDSYNC_ASSIGN(bool inserted, store->InsertCsIfNew(x));
        if (!inserted) return Fail(ErrorCode::kInternal, "not inserted");
      } else {
        IDSYNC_TRY(store->InsertCs(x));
      }
      o.push_back(std::move(x));
    }
    return {};
  }));
  check("inserted");
  ASSERT_EQ(PendingListed(*store, 1), (std::vector<int64_t>{o[1].id, o[3].id, o[5].id}));
  ASSERT_EQ(PendingListed(*store, 2), (std::vector<int64_t>{o[7].id}));

  o[0].pending_export = PendingExport::kUpdate;  // becomes pending
  o[1].pending_export = PendingExport::kNone;    // no longer pending
  o[3].pending_export = PendingExport::kDelete;  // stays pending
  o[2].export_dn = "q2";                         // pending a move
  o[2].pending_export = PendingExport::kUpdate;
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    for (int i : {0, 1, 3, 2, 3}) IDSYNC_TRY(store->UpdateCs(o[i]));
    return {};
  }));
  check("updated");
  ASSERT_EQ(PendingListed(*store, 1), (std::vector<int64_t>{o[0].id, o[2].id, o[3].id, o[5].id}));

  auto gen = [&](int i) {
    auto row = store->GetCs(o[i].id);
    EXPECT_TRUE(row && *row);
    return row && *row ? (*row)->export_gen : -1;
  };
  // o[5] is confirmed with a generation that is no longer its own.
  const int64_t old5 = gen(5);
  o[5].export_attrs = {{"cn", {"changed"}}};
  ASSERT_TRUE(store->WithWrite([&] { return store->UpdateCs(o[5]); }));
  std::vector<Store::ExportedRow> rows = {
      {.id = o[0].id, .export_gen = gen(0), .pending = PendingExport::kUpdate},
      {.id = o[2].id, .export_gen = gen(2), .pending = PendingExport::kUpdate, .moves = true},
      {.id = o[3].id, .export_gen = gen(3), .pending = PendingExport::kDelete},
      {.id = o[5].id, .export_gen = old5, .pending = PendingExport::kAdd},
      {.id = o[7].id, .export_gen = gen(7), .pending = PendingExport::kAdd}};
  ASSERT_TRUE(store->WithWrite([&]() -> Status { return store->ConfirmExported(rows).map([](auto) {}); }));
  check("confirmed");
  EXPECT_EQ(PendingListed(*store, 1), (std::vector<int64_t>{o[5].id}));
  EXPECT_EQ(PendingListed(*store, 2), (std::vector<int64_t>{}));

  // Many rows confirmed by list statements.
  std::vector<Store::ExportedRow> many;
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    for (int i = 0; i < 100; ++i) {
      CsObject x = PersonInMa1("m" + std::to_string(i), PendingExport::kAdd);
      x.dn = x.anchor;
      IDSYNC_TRY(store->InsertCs(x));
      many.push_back({.id = x.id, .export_gen = 0, .pending = PendingExport::kAdd});
    }
    return {};
  }));
  check("many inserted");
  ASSERT_TRUE(store->WithWrite([&]() -> Status { return store->ConfirmExported(many).map([](auto) {}); }));
  check("many confirmed");
  EXPECT_EQ(PendingListed(*store, 1), (std::vector<int64_t>{o[5].id}));

  ASSERT_TRUE(store->WithWrite([&] { return store->DeleteCs(o[5].id); }));
  check("deleted");
  EXPECT_EQ(PendingListed(*store, 1), (std::vector<int64_t>{}));
  auto deletes = store->CountPendingExportDeletes(1);
  ASSERT_TRUE(deletes);
  EXPECT_EQ(*deletes, 0);
}

// Schema version 6 on each backend. On PostgreSQL no index of cs_objects
// names pending_export, so that confirming an export can be a HOT update:
// the new version of the row goes beside the old one without new index
// entries. SQLite, which has no such update, keeps its partial indexes and
// has no list of pending exports.
TEST(StoreTest, AnExportConfirmationOnPostgresqlAddsNoIndexEntriesWhileSqliteKeepsItsIndexes) {
  auto store = MemoryStore();
  if (store->db().Backend() == "sqlite") {
    auto st = store->db().Prepare("SELECT count(*) FROM sqlite_master WHERE name IN "
                                  "('cs_objects_pending_export', 'cs_objects_pending_delete')");
    ASSERT_TRUE(st);
    auto row = (*st)->Step();
    ASSERT_TRUE(row && *row);
    EXPECT_EQ((*st)->ColumnInt(0), 2);
    (*st)->Reset();
    auto list = store->db().TableExists("cs_pending_exports");
    ASSERT_TRUE(list);
    EXPECT_FALSE(*list);
    return;
  }
  std::vector<Store::ExportedRow> rows;
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    for (int i = 0; i < 10; ++i) {
      CsObject x = PersonInMa1("h" + std::to_string(i), PendingExport::kAdd);
      x.export_attrs = {{"cn", {x.anchor}}};
      IDSYNC_TRY(store->InsertCs(x));
      rows.push_back({.id = x.id, .export_gen = 0, .pending = PendingExport::kAdd});
    }
    return {};
  }));
  int64_t updated = -1, hot = -1;
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    IDSYNC_TRY(store->ConfirmExported(rows).map([](auto) {}));
    // This transaction's own counts.
    IDSYNC_ASSIGN(Statement * st, store->db().Prepare("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                                                      "WHERE relname = 'cs_objects'"));
    IDSYNC_ASSIGN(bool row, st->Step());
    if (row) {
      updated = st->ColumnInt(0);
      hot = st->ColumnInt(1);
    }
    st->Reset();
    return {};
  }));
  EXPECT_EQ(updated, 10);
  EXPECT_EQ(hot, 10);
}

// The upgrade to schema version 6: the pending exports of a database of
// the previous release are listed and counted as before (on PostgreSQL
// they are copied into a table of their own).
TEST(StoreTest, AnUpgradeFromSchemaVersion5KeepsThePendingExports) {
  TempDir dir;
  auto store = Store::Open(FreshTestDbUrl(dir.path()), StoreOptions{.create_if_missing = true});
  ASSERT_TRUE(store) << store.error().message;
  Db& db = (*store)->db();
  ASSERT_TRUE(MigrateTo(db, 5));
  ASSERT_TRUE(db.BeginWrite());
  ASSERT_TRUE(db.Exec("INSERT INTO management_agents (id, name) VALUES (1, 'directory'), (2, 'badges')"));
  auto insert = db.Prepare("INSERT INTO cs_objects (id, ma_id, anchor, dn, object_type, pending_export) "
                           "VALUES (?, ?, ?, ?, 'person', ?)");
  ASSERT_TRUE(insert);
  // id, MA, pending export
  const std::vector<std::array<int64_t, 3>> rows = {{1, 1, 0}, {2, 1, 1}, {3, 2, 2}, {4, 1, 3}, {5, 1, 0}, {6, 2, 0}};
  for (const auto& r : rows) {
    (*insert)->BindInt(1, r[0]);
    (*insert)->BindInt(2, r[1]);
    (*insert)->BindText(3, "cn=" + std::to_string(r[0]));
    (*insert)->BindText(4, "cn=" + std::to_string(r[0]));
    (*insert)->BindInt(5, r[2]);
    ASSERT_TRUE((*insert)->Step());
    (*insert)->Reset();
  }
  ASSERT_TRUE(db.Commit());

  ASSERT_TRUE((*store)->Migrate());
  EXPECT_EQ((*store)->schema_version(), kSchemaVersion);
  EXPECT_EQ(PendingListed(**store, 1), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(PendingListed(**store, 2), (std::vector<int64_t>{3}));
  auto deletes = (*store)->CountPendingExportDeletes(1);
  ASSERT_TRUE(deletes);
  EXPECT_EQ(*deletes, 1);
  // The next export batch of MA 1 covers both.
  std::optional<Store::ExportBatch> batch;
  ASSERT_TRUE((*store)->WithWrite([&]() -> Status {
    IDSYNC_ASSIGN(batch, (*store)->CreateExportBatch(1, 0, 10));
    return {};
  }));
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->after_id, 0);
  EXPECT_EQ(batch->last_id, 4);
}


// More keys than one statement takes, repeated keys, keys without an
// answer: the lookups of many keys answer as the lookups of one key do.
TEST(StoreTest, ManyKeysAreLookedUpTogetherAsOneAtATime) {
  auto store = MemoryStore();
  std::vector<std::string> anchors;
  std::vector<int64_t> mv_ids;
  ASSERT_TRUE(store->WithWrite([&]() -> Status {
    for (int i = 0; i < 150; ++i) {
      CsObject o;
      o.ma_id = i % 10 == 9 ? 2 : 1;  // some in another MA
      o.anchor = "a" + std::to_string(i);
      o.dn = i % 3 == 0 ? "cn=" + o.anchor : o.anchor;
      o.object_type = "person";
      if (i % 7 != 0) o.mv_id = 1000 + i;  // some not linked
      o.link = i % 11 == 0 ? LinkState::kExplicitDisconnector : LinkState::kConnector;
      if (i % 13 == 0) o.pending_export = PendingExport::kDelete;
      if (i % 5 == 0) o.export_dn = "cn=new-" + o.anchor;
      IDSYNC_TRY(store->InsertCs(o));
      anchors.push_back(o.anchor);
      mv_ids.push_back(1000 + i);
    }
    return {};
  }));
  anchors.push_back("missing");
  anchors.push_back("a1");  // again
  mv_ids.push_back(5);
  mv_ids.push_back(1001);

  auto by_anchor = store->FindMvIdsByAnchors(1, anchors);
  ASSERT_TRUE(by_anchor) << by_anchor.error().message;
  std::set<std::string> linked;
  for (const auto& anchor : anchors) {
    auto one = store->FindMvIdByAnchor(1, anchor);
    ASSERT_TRUE(one);
    auto it = by_anchor->find(anchor);
    ASSERT_EQ(it != by_anchor->end(), one->has_value()) << anchor;
    if (*one) {
      EXPECT_EQ(it->second, **one) << anchor;
      linked.insert(anchor);
    }
  }
  EXPECT_EQ(by_anchor->size(), linked.size());
  EXPECT_GT(linked.size(), 64u);

  auto names = store->FindConnectorNames(mv_ids, 1);
  ASSERT_TRUE(names) << names.error().message;
  std::set<int64_t> named;
  for (int64_t id : mv_ids) {
    auto one = store->FindConnectorName(id, 1);
    ASSERT_TRUE(one);
    auto it = names->find(id);
    ASSERT_EQ(it != names->end(), one->has_value()) << id;
    if (*one) {
      EXPECT_EQ(it->second.anchor, (*one)->anchor) << id;
      EXPECT_EQ(it->second.dn, (*one)->dn) << id;
      named.insert(id);
    }
  }
  EXPECT_EQ(names->size(), named.size());
  EXPECT_GT(named.size(), 64u);
  EXPECT_TRUE(store->FindMvIdsByAnchors(1, {})->empty());
  EXPECT_TRUE(store->FindConnectorNames({}, 1)->empty());
}

// Schema version 4 rebuilds the join-key and reverse-reference tables
// clustered on their primary key (SQLite: WITHOUT ROWID); what a release
// with version 3 stored there is found as before, and the lookups by
// object still go through their own indexes.
TEST(StoreTest, AnUpgradeFromSchemaVersion3KeepsJoinKeysAndReferences) {
  std::unique_ptr<Db> db = OpenFreshTestDb();
  ASSERT_TRUE(MigrateTo(*db, 3));
  const bool sqlite = db->Backend() == "sqlite";
  // How SQLite stores a table, from its definition.
  auto clustered = [](Db& db, const char* table) {
    auto st = db.Prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?");
    EXPECT_TRUE(st);
    if (!st) return false;
    (*st)->BindText(1, table);
    auto row = (*st)->Step();
    bool out = row && *row && std::string((*st)->ColumnText(0)).find("WITHOUT ROWID") != std::string::npos;
    (*st)->Reset();
    return out;
  };
  if (sqlite) {
    EXPECT_FALSE(clustered(*db, "mv_keys"));
    EXPECT_FALSE(clustered(*db, "mv_refs"));
  }
  ASSERT_TRUE(db->Exec("INSERT INTO mv_objects (id, object_type) VALUES (1, 'person'), (2, 'person'), "
                       "(3, 'group');"
                       "INSERT INTO mv_keys (attr, value, mv_id) VALUES ('employeeid', '7', 1), "
                       "('employeeid', '8', 2), ('cn', 'staff', 3), ('cn', 'staff', 2);"
                       "INSERT INTO mv_refs (to_id, from_id) VALUES (1, 3), (2, 3), (1, 2);"));
  auto wrapped = Store::Wrap(std::move(db));  // migrates to the current version
  ASSERT_TRUE(wrapped) << wrapped.error().message;
  Store& store = **wrapped;
  EXPECT_EQ(store.schema_version(), kSchemaVersion);
  if (sqlite) {
    EXPECT_TRUE(clustered(store.db(), "mv_keys"));
    EXPECT_TRUE(clustered(store.db(), "mv_refs"));
    // The secondary indexes serve the lookups by object.
    auto plan = [&](const std::string& sql) {
      std::string out;
      auto st = store.db().Prepare("EXPLAIN QUERY PLAN " + sql);
      EXPECT_TRUE(st) << sql;
      if (!st) return out;
      (*st)->BindInt(1, 1);
      (*st)->BindInt(2, 1);
      while (auto row = (*st)->Step()) {
        if (!*row) break;
        out += std::string((*st)->ColumnText(3)) + "\n";
      }
      (*st)->Reset();
      return out;
    };
    EXPECT_NE(plan("DELETE FROM mv_keys WHERE mv_id = ?").find("mv_keys_object"), std::string::npos);
    EXPECT_NE(plan("DELETE FROM mv_refs WHERE from_id = ?").find("mv_refs_from"), std::string::npos);
    EXPECT_NE(plan("SELECT from_id FROM mv_refs WHERE to_id = ? ORDER BY from_id").find("PRIMARY KEY"),
              std::string::npos);
  }
  EXPECT_EQ(*store.FindMvByKey("employeeid", "7"), (std::vector<int64_t>{1}));
  EXPECT_EQ(*store.FindMvByKey("cn", "staff"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(*store.ListMvReferrers(1), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(*store.ListMvReferrers(2), (std::vector<int64_t>{3}));

  ASSERT_TRUE(store.WithWrite([&]() -> Status {
    IDSYNC_TRY(store.SetMvKeys(2, {{"employeeid", "9"}}, /*is_new=*/false));
    IDSYNC_TRY(store.SetMvKeys(4, {{"employeeid", "9"}}, /*is_new=*/true));
    IDSYNC_TRY(store.ChangeMvRefs(3, {1}, {4}));
    return store.SetMvRefs(2, {}, /*is_new=*/false);
  }));
  EXPECT_TRUE(store.FindMvByKey("employeeid", "8")->empty());
  EXPECT_EQ(*store.FindMvByKey("employeeid", "9"), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(*store.FindMvByKey("cn", "staff"), (std::vector<int64_t>{3}));
  EXPECT_TRUE(store.ListMvReferrers(1)->empty());
  EXPECT_EQ(*store.ListMvReferrers(4), (std::vector<int64_t>{3}));
}

TEST(StoreTest, OfTwoActivationsFromTheSameEpochExactlyOneWins) {
  TempDir dir;
  std::string url = FreshTestDbUrl(dir.path());
  auto first = Store::Open(url, StoreOptions{.create_if_missing = true});
  ASSERT_TRUE(first);
  ASSERT_TRUE((*first)->Migrate());
  auto second = Store::Open(url, {});
  ASSERT_TRUE(second);
  // Both standbys read the cluster (epoch 0) before either commits.
  int64_t seen_by_first = (*(*first)->GetCluster()).epoch;
  int64_t seen_by_second = (*(*second)->GetCluster()).epoch;
  auto won = ActivateInOwnTransaction(**first, "beta", seen_by_first);
  auto lost = ActivateInOwnTransaction(**second, "gamma", seen_by_second);
  ASSERT_TRUE(won) << won.error().message;
  EXPECT_EQ(*won, 1);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kBusy);
  EXPECT_NE(lost.error().message.find("beta is now active at epoch 1"), std::string::npos) << lost.error().message;
  auto cluster = *(*second)->GetCluster();
  EXPECT_EQ(cluster.active_server, "beta");
  EXPECT_EQ((*(*second)->ListActivations(10)).size(), 1u) << "the loser records nothing";
}

}  // namespace
}  // namespace idsync

namespace idsync {
namespace {

// A writer that commits and begins again at once (a long run in another
// process) must not starve a connection that waits for the write lock (an
// activation): the waiter gets its turn within its busy timeout, here a
// short one, every time.
TEST(StoreTest, AWaitingWriterGetsItsTurnBetweenAnotherProcesssTransactions) {
  TempDir dir;
  std::string path = (dir.path() / "db").string();
  {
    auto setup = OpenSqlite(path, DbOptions{.create_if_missing = true});
    ASSERT_TRUE(setup);
    ASSERT_TRUE((*setup)->Exec("CREATE TABLE t (n INTEGER)"));
  }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t writer = fork();
  if (writer == 0) {
    auto db = OpenSqlite(path, DbOptions{});
    if (!db) _exit(1);
    auto insert = (*db)->Prepare("INSERT INTO t (n) VALUES (?)");
    for (int64_t txn = 0;; ++txn) {
      if (!(*db)->BeginWrite()) continue;
      for (int i = 0; i < 2000; ++i) {
        (*insert)->BindInt(1, i);
        (void)(*insert)->Step();
        (*insert)->Reset();
      }
      (void)(*db)->Commit();
      if (txn == 3) (void)!write(ready[1], "x", 1);
    }
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  int turns = 0;
  std::string last_error;
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto waiting = OpenSqlite(path, DbOptions{.busy_timeout_ms = 300});
    ASSERT_TRUE(waiting);
    auto st = (*waiting)->BeginWrite();
    if (st) {
      ++turns;
      (*waiting)->Rollback();
    } else {
      last_error = st.error().message;
    }
  }
  kill(writer, SIGKILL);
  waitpid(writer, nullptr, 0);
  EXPECT_EQ(turns, 20) << last_error;
}

}  // namespace
}  // namespace idsync
