// What a connector space update writes on SQLite: an indexed column whose
// value does not change must not rewrite its index entry (SQLite deletes
// and inserts the entry again for any indexed column named in an UPDATE's
// SET, which writes a page of that index; at a million objects that was a
// random page of the anchor index and of the (mv_id, ma_id) index for every
// object a delta sync changed).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;

constexpr int kObjects = 20000;

// Log frames (pages) the log holds.
uintmax_t LogFrames(const std::string& log) {
  auto size = fs::file_size(log);
  return size <= 32 ? 0 : (size - 32) / (4096 + 24);
}

class StorePagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (dir_.path() / "db").string();
    // No checkpoint while the test counts what a transaction logs.
    auto db = OpenSqlite(path_, DbOptions{.create_if_missing = true, .sqlite_checkpoint_pages = 1 << 20});
    ASSERT_TRUE(db) << db.error().message;
    auto store = Store::Wrap(std::move(*db));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    // Objects whose anchors, long and in no relation to their ids, fill
    // many pages of the anchor index, as do their MV ids in the MV index.
    ASSERT_TRUE(store_->WithWrite([&]() -> Status {
      for (int i = 0; i < kObjects; ++i) {
        CsObject o;
        o.ma_id = 1;
        o.anchor = "uid=" + std::to_string((i * 7919) % 100003) + std::string(60, 'x') + ",ou=people";
        o.dn = o.anchor;
        o.object_type = "person";
        o.link = LinkState::kConnector;
        o.mv_id = (i * 4013) % 100019;
        o.attrs = {{"title", {std::string(300, 't')}}};
        // Pending already, so that no update below changes a row's size
        // (a row that grows splits its full page, which writes pages
        // that have nothing to do with the indexes).
        o.pending_import = PendingImport::kUpdate;
        o.pending_export = PendingExport::kUpdate;
        o.export_attrs = {{"title", {std::string(300, 's')}}};
        IDSYNC_TRY(store_->InsertCs(o));
        objects_.push_back(o);
      }
      return {};
    }));
  }

  // Frames logged by one transaction running fn, from an empty log.
  uintmax_t FramesOf(const std::function<Status()>& fn) {
    EXPECT_TRUE(store_->db().Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
    EXPECT_EQ(LogFrames(path_ + "-wal"), 0u);
    EXPECT_TRUE(store_->WithWrite(fn));
    return LogFrames(path_ + "-wal");
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
  std::vector<CsObject> objects_;
};

TEST_F(StorePagesTest, AnUpdateWritesNoIndexPageWhoseKeysAreUnchanged) {
  // Every 20th object's desired state changes, through UpdateCs; then as
  // many others' through an UPDATE of those columns alone.
  const uintmax_t whole = FramesOf([&]() -> Status {
    for (int i = 0; i < kObjects; i += 20) {
      CsObject o = objects_[i];
      o.pending_export = PendingExport::kUpdate;
      o.export_attrs = {{"title", {std::string(300, 'u')}}};
      IDSYNC_TRY(store_->UpdateCs(o));
    }
    return {};
  });
  const uintmax_t alone = FramesOf([&]() -> Status {
    IDSYNC_ASSIGN(Statement * st, store_->db().Prepare("UPDATE cs_objects SET pending_import = 2, pending_export = 2, export_attrs = ? "
                                                        "WHERE id = ?"));
    for (int i = 10; i < kObjects; i += 20) {
      st->BindBlob(1, EncodeAttributes({{"title", {std::string(300, 'u')}}}));
      st->BindInt(2, objects_[i].id);
      IDSYNC_TRY(st->Step());
      st->Reset();
    }
    return {};
  });
  EXPECT_GT(alone, 500u);
  EXPECT_LE(whole, alone + 5) << "UpdateCs wrote index pages of keys it did not change";

  // The same for UpdateCsLink, which changes the pending import of an
  // object that stays linked to the same MV object.
  const uintmax_t link = FramesOf([&]() -> Status {
    for (int i = 5; i < kObjects; i += 20) {
      CsObject o = objects_[i];
      o.pending_import = PendingImport::kDelete;
      IDSYNC_TRY(store_->UpdateCsLink(o));
    }
    return {};
  });
  const uintmax_t link_alone = FramesOf([&]() -> Status {
    IDSYNC_ASSIGN(Statement * st, store_->db().Prepare("UPDATE cs_objects SET pending_import = 3 WHERE id = ?"));
    for (int i = 15; i < kObjects; i += 20) {
      st->BindInt(1, objects_[i].id);
      IDSYNC_TRY(st->Step());
      st->Reset();
    }
    return {};
  });
  EXPECT_GT(link_alone, 500u);
  EXPECT_LE(link, link_alone + 5) << "UpdateCsLink wrote index pages of keys it did not change";
}

TEST_F(StorePagesTest, ChangedIndexedColumnsAreStillWritten) {
  CsObject o = objects_[7];
  o.anchor = "uid=renamed,ou=people";
  o.dn = "uid=renamed,ou=people";
  o.mv_id = 5;
  ASSERT_TRUE(store_->WithWrite([&] { return store_->UpdateCs(o); }));
  auto by_anchor = store_->FindCsByAnchor(1, "uid=renamed,ou=people");
  ASSERT_TRUE(by_anchor && *by_anchor);
  EXPECT_EQ((*by_anchor)->id, o.id);
  EXPECT_EQ((*by_anchor)->dn, o.dn);
  EXPECT_EQ((*by_anchor)->mv_id, std::optional<int64_t>(5));
  auto old = store_->FindCsByAnchor(1, objects_[7].anchor);
  ASSERT_TRUE(old);
  EXPECT_FALSE(*old);

  o.mv_id.reset();
  o.link = LinkState::kNormalDisconnector;
  ASSERT_TRUE(store_->WithWrite([&] { return store_->UpdateCsLink(o); }));
  auto by_mv = store_->ListCsByMv(5);
  ASSERT_TRUE(by_mv);
  EXPECT_TRUE(by_mv->empty());
  auto read = store_->GetCs(o.id);
  ASSERT_TRUE(read && *read);
  EXPECT_FALSE((*read)->mv_id);
  EXPECT_EQ((*read)->link, LinkState::kNormalDisconnector);

  o.mv_id = 9;
  o.link = LinkState::kConnector;
  ASSERT_TRUE(store_->WithWrite([&] { return store_->UpdateCsLink(o); }));
  by_mv = store_->ListCsByMv(9);
  ASSERT_TRUE(by_mv);
  ASSERT_EQ(by_mv->size(), 1u);
  EXPECT_EQ((*by_mv)[0].id, o.id);
}

}  // namespace
}  // namespace idsync
