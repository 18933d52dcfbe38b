// Provisioning that assumes each provisioned object is new (engine/sync.cc
// RunBatch, Store::AssumeProvisionedNew): on PostgreSQL the inserts are sent
// without waiting, and only the check before the batch commits finds an
// anchor that the target already held. The sync must then end exactly as a
// sync that waited for every insert's answer: the same metaverse, connector
// spaces, counters and object errors, with nothing left of the attempt that
// was rolled back. Each scenario runs twice, each time on a new database:
// as the engine runs it, and with every answer exact (the reference).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include "config/config.h"
#include "engine/runner.h"
#include "store/store.h"
#include "tests/support/dump.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;

constexpr const char* kConfig = R"toml(
[metaverse.object_types.person]
attributes = ["employeeId", "uid", "displayName"]

[ma.hr]
connector = "csv"
settings = { path = "hr.csv" }
[ma.hr.object_types.person]
mv_object_type = "person"
anchor = "employeeId"
attributes = ["employeeId", "uid", "name"]
project = true
import_flows = { employeeId = "employeeId", uid = "uid", displayName = "name" }

[ma.dir]
connector = "ldif"
settings = { path = "out/dir.ldif" }
[ma.dir.object_types.person]
mv_object_type = "person"
anchor = "dn"
object_class = "inetOrgPerson"
attributes = ["uid", "cn"]
export_flows = { uid = "uid", cn = "displayName" }
provisioning = { dn = '"uid=" & uid & ",ou=people,dc=example"' }

[ma.badges]
connector = "csv"
settings = { path = "out/badges.csv" }
[ma.badges.object_types.badge]
mv_object_type = "person"
anchor = "employeeId"
attributes = ["employeeId", "name"]
export_flows = { employeeId = "employeeId", name = "displayName" }
provisioning = { dn = "employeeId" }
)toml";

// What a sync left: everything a difference would show in.
struct Outcome {
  std::string status, counters, errors, mv, hr, dir, badges;
};

void ExpectSame(const Outcome& got, const Outcome& want) {
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.counters, want.counters);
  EXPECT_EQ(got.errors, want.errors);
  EXPECT_EQ(got.mv, want.mv);
  EXPECT_EQ(got.hr, want.hr);
  EXPECT_EQ(got.dir, want.dir);
  EXPECT_EQ(got.badges, want.badges);
}

std::string Person(int id, const std::string& uid) {
  return std::to_string(id) + "," + uid + ",Person " + std::to_string(id) + "\n";
}

// An object already in the directory's connector space, not linked to the
// metaverse (`link`: how).
using Seed = std::vector<std::pair<std::string, LinkState>>;  // uid, link state

// Runs HR's full import and full sync of `rows` in batches of `batch` on a
// new database whose directory holds `seed`; `exact`: every provisioned
// insert waits for its answer.
Outcome Sync(bool exact, const std::string& rows, const Seed& seed, size_t batch) {
  Outcome out;
  TempDir dir;
  const fs::path cfg = dir.path() / "config";
  fs::create_directories(cfg / "out");
  std::ofstream(cfg / "idsync.toml") << kConfig;
  std::ofstream(cfg / "hr.csv") << "employeeId,uid,name\n" << rows;
  auto opened = Store::Open(FreshTestDbUrl(dir.path()), StoreOptions{.create_if_missing = true});
  EXPECT_TRUE(opened) << opened.error().message;
  if (!opened) return out;
  Store& store = **opened;
  EXPECT_TRUE(store.Migrate());
  if (exact) store.NeverAssumeProvisionedNewForTesting();
  auto config = LoadConfigFiles(cfg.string());
  EXPECT_TRUE(config) << config.error().message;
  if (!config) return out;
  EXPECT_TRUE(store.WithWrite([&]() -> Status {
    IDSYNC_TRY(store.ReplaceConfig(ToDocuments(*config)));
    IDSYNC_ASSIGN(int64_t ma, store.EnsureManagementAgent("dir"));
    for (const auto& [uid, link] : seed) {
      CsObject o;
      o.ma_id = ma;
      o.anchor = o.dn = "uid=" + uid + ",ou=people,dc=example";
      o.object_type = "person";
      o.attrs = {{"uid", {uid}}, {"cn", {"Someone Else"}}};
      o.link = link;
      IDSYNC_TRY(store.InsertCs(o));
    }
    return {};
  }));
  RunRequest req;
  req.ma = "hr";
  req.profile = "full-import-full-sync";
  req.server = "test";
  req.batch_size = batch;
  auto result = RunProfile(store, req);
  EXPECT_TRUE(result) << result.error().message;
  if (!result) return out;
  out.status = result->status;
  out.counters = result->counters.ToJson();
  auto errors = store.ListRunErrors(result->run_id);
  EXPECT_TRUE(errors);
  if (errors)
    for (const auto& e : *errors) out.errors += e.object + " " + e.error + ": " + e.message + "\n";
  auto mv = DumpMetaverse(store);
  auto hr = DumpConnectorSpace(store, "hr");
  auto directory = DumpConnectorSpace(store, "dir");
  auto badges = DumpConnectorSpace(store, "badges");
  EXPECT_TRUE(mv && hr && directory && badges);
  if (mv && hr && directory && badges) {
    out.mv = *mv;
    out.hr = *hr;
    out.dir = *directory;
    out.badges = *badges;
  }
  return out;
}

size_t Lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

bool HasLine(const std::string& dump, const std::string& start, const std::string& part) {
  size_t at = dump.find(start);
  if (at == std::string::npos) return false;
  size_t end = dump.find('\n', at);
  return dump.substr(at, end - at).find(part) != std::string::npos;
}

TEST(ProvisionAssumedNewTest, AnUnlinkedObjectWithTheAnchorInTheMiddleOfABatchIsLinkedAsWhenEachInsertWaits) {
  // 120 new people in batches of 50; the second batch's 75th person finds
  // her directory entry there already, unlinked, and the 85th finds his
  // held by an explicit disconnector (an object error).
  std::string rows;
  for (int i = 1; i <= 120; ++i) rows += Person(i, "p" + std::to_string(i));
  const Seed seed = {{"p75", LinkState::kNormalDisconnector}, {"p85", LinkState::kExplicitDisconnector}};
  const Outcome reference = Sync(/*exact=*/true, rows, seed, 50);
  const Outcome got = Sync(/*exact=*/false, rows, seed, 50);
  ExpectSame(got, reference);

  // What the reference itself says, so that the comparison is with the
  // behaviour meant: 75 linked (a join, no add), 85 failed and pending
  // (its projection and its badge, counted before the failure, stay
  // counted, as for every object error).
  EXPECT_EQ(got.status, "completed-sync-errors");
  EXPECT_NE(got.counters.find("\"joins\":1"), std::string::npos) << got.counters;
  EXPECT_NE(got.counters.find("\"provisioned_adds\":238"), std::string::npos) << got.counters;
  EXPECT_NE(got.counters.find("\"projections\":120"), std::string::npos) << got.counters;
  EXPECT_EQ(got.errors, "85 sync-error: cannot provision: anchor 'uid=p85,ou=people,dc=example' is already held "
                        "by another object in the target\n");
  EXPECT_EQ(Lines(got.mv), 119u);
  EXPECT_EQ(Lines(got.dir), 120u);  // 118 added, 2 there before
  EXPECT_EQ(Lines(got.badges), 119u);
  EXPECT_TRUE(HasLine(got.dir, "uid=p75,", "link=connector")) << got.dir;
  EXPECT_TRUE(HasLine(got.dir, "uid=p75,", "mv=@person:75")) << got.dir;
  EXPECT_TRUE(HasLine(got.dir, "uid=p85,", "link=explicit-disconnector")) << got.dir;
  EXPECT_TRUE(HasLine(got.hr, "85 ", "import=add")) << got.hr;
}

TEST(ProvisionAssumedNewTest, TwoNewObjectsOfOneBatchClaimingOneAnchorEndAsWhenEachInsertWaits) {
  // The 20th and the 230th person of one batch would both get uid=p20 in the
  // directory: the first is added, the second is an object error. Later
  // batches run with exact answers (the engine stays careful), with the
  // same outcome.
  std::string rows;
  for (int i = 1; i <= 100; ++i) {
    rows += Person(i, "p" + std::to_string(i));
    if (i == 30) rows += Person(230, "p20");
  }
  const Outcome reference = Sync(/*exact=*/true, rows, {}, 40);
  const Outcome got = Sync(/*exact=*/false, rows, {}, 40);
  ExpectSame(got, reference);

  EXPECT_EQ(got.status, "completed-sync-errors");
  EXPECT_NE(got.counters.find("\"provisioned_adds\":201"), std::string::npos) << got.counters;
  EXPECT_EQ(got.errors, "230 sync-error: cannot provision: anchor 'uid=p20,ou=people,dc=example' is already held "
                        "by another object in the target\n");
  EXPECT_EQ(Lines(got.mv), 100u);
  EXPECT_EQ(Lines(got.dir), 100u);
}

TEST(ProvisionAssumedNewTest, WithoutClashesEveryBatchCommitsAsWhenEachInsertWaits) {
  std::string rows;
  for (int i = 1; i <= 150; ++i) rows += Person(i, "p" + std::to_string(i));
  const Outcome reference = Sync(/*exact=*/true, rows, {}, 40);
  const Outcome got = Sync(/*exact=*/false, rows, {}, 40);
  ExpectSame(got, reference);
  EXPECT_EQ(got.status, "success");
  EXPECT_NE(got.counters.find("\"provisioned_adds\":300"), std::string::npos) << got.counters;
}

}  // namespace
}  // namespace idsync
