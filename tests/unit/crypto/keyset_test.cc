// The key set: check values, verification against the database's records,
// rotation, and the server's local copy on disk.
#include "crypto/keyset.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace idsync {
namespace {

KeySet MakeSet() {
  auto set = NewKeySet();
  EXPECT_TRUE(set) << set.error().message;
  return std::move(*set);
}

std::map<uint32_t, std::string> Records(const KeySet& set) {
  std::map<uint32_t, std::string> records;
  for (const KeyVersion& v : set.versions) records[v.version] = CheckValue(set, v.version);
  return records;
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void WriteText(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

TEST(KeySetTest, ANewSetHasARandomIdOneActiveVersionAndAMatchingBoxPair) {
  KeySet a = MakeSet(), b = MakeSet();
  EXPECT_EQ(a.id.size(), 32u);
  EXPECT_EQ(a.id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a.id, b.id);
  ASSERT_EQ(a.versions.size(), 1u);
  EXPECT_EQ(a.active_version, 1u);
  EXPECT_EQ(a.versions[0].version, 1u);
  EXPECT_NE(a.versions[0].key, b.versions[0].key);
  EXPECT_NE(a.versions[0].key, (std::array<unsigned char, 32>{}));
  EXPECT_EQ(a.versions[0].created_at.size(), 20u);  // 2026-11-22T13:45:00Z
  std::array<unsigned char, 32> derived{};
  crypto_scalarmult_base(derived.data(), a.box_secret.data());
  EXPECT_EQ(derived, a.box_public);
}

TEST(KeySetTest, RotationAddsANewActiveKeyAndKeepsTheOldOnes) {
  KeySet set = MakeSet();
  const auto first_key = set.versions[0].key;
  EXPECT_EQ(AddKeyVersion(set), 2u);
  EXPECT_EQ(AddKeyVersion(set), 3u);
  EXPECT_EQ(set.active_version, 3u);
  ASSERT_EQ(set.versions.size(), 3u);
  EXPECT_EQ(set.versions[0].key, first_key);
  EXPECT_NE(set.versions[1].key, first_key);
  EXPECT_NE(set.versions[2].key, set.versions[1].key);
  ASSERT_NE(FindVersion(set, 2), nullptr);
  EXPECT_EQ(FindVersion(set, 2)->version, 2u);
  EXPECT_EQ(FindVersion(set, 4), nullptr);
}

TEST(KeySetTest, CheckValuesDifferPerVersionAndPerSetAndAreStable) {
  KeySet set = MakeSet();
  AddKeyVersion(set);
  const std::string v1 = CheckValue(set, 1), v2 = CheckValue(set, 2);
  EXPECT_EQ(v1.size(), 64u);
  EXPECT_EQ(v1.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(v1, v2);
  EXPECT_EQ(CheckValue(set, 1), v1);
  EXPECT_EQ(CheckValue(set, 9), "");
  EXPECT_NE(CheckValue(MakeSet(), 1), v1);
  KeySet renamed = set;  // same keys, another id: the id is part of the check value
  renamed.id = std::string(32, 'a');
  EXPECT_NE(CheckValue(renamed, 1), v1);
}

TEST(KeySetTest, VerifyAcceptsTheSetTheDatabaseRecorded) {
  KeySet set = MakeSet();
  AddKeyVersion(set);
  auto records = Records(set);
  EXPECT_TRUE(VerifyKeySet(set, set.id, records));
  AddKeyVersion(set);  // a rotation the database has not recorded yet
  EXPECT_TRUE(VerifyKeySet(set, set.id, records));
}

TEST(KeySetTest, VerifyRefusesAnotherInstallationsSet) {
  KeySet ours = MakeSet(), theirs = MakeSet();
  auto st = VerifyKeySet(theirs, ours.id, Records(ours));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kKeySetMismatch);
  EXPECT_TRUE(Contains(st.error().message, "another installation")) << st.error().message;
  EXPECT_TRUE(Contains(st.error().message, "key set " + theirs.id)) << st.error().message;
  EXPECT_TRUE(Contains(st.error().message, "uses " + ours.id)) << st.error().message;
}

TEST(KeySetTest, VerifyRefusesAnAlteredKey) {
  KeySet set = MakeSet();
  auto records = Records(set);
  KeySet altered = set;
  altered.versions[0].key[5] ^= 1;
  auto st = VerifyKeySet(altered, set.id, records);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kKeySetMismatch);
  EXPECT_TRUE(Contains(st.error().message, "older or altered copy")) << st.error().message;
  EXPECT_TRUE(Contains(st.error().message, "export a current key file")) << st.error().message;
}

TEST(KeySetTest, VerifyRefusesAnOlderCopyThatLacksARecordedVersion) {
  KeySet set = MakeSet();
  KeySet old_copy = set;
  AddKeyVersion(set);
  auto st = VerifyKeySet(old_copy, set.id, Records(set));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kKeySetMismatch);
  EXPECT_TRUE(Contains(st.error().message, "lacks key version 2")) << st.error().message;
}

TEST(KeySetTest, VerifyRefusesWhenTheDatabaseRecordsNoCheckValues) {
  KeySet set = MakeSet();
  auto st = VerifyKeySet(set, set.id, {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kKeySetMismatch);
}

TEST(KeySetTest, MovingASetLeavesTheSourceEmptyAndWiped) {
  KeySet set = MakeSet();
  KeySet moved = std::move(set);
  EXPECT_TRUE(set.versions.empty());
  EXPECT_EQ(set.box_secret, (std::array<unsigned char, 32>{}));
  EXPECT_NE(moved.box_secret, (std::array<unsigned char, 32>{}));
  KeyVersion v = moved.versions[0];
  KeyVersion taken = std::move(v);
  EXPECT_EQ(v.key, (std::array<unsigned char, 32>{}));
  EXPECT_EQ(taken.key, moved.versions[0].key);
}

TEST(KeySetTest, TheDocumentRoundTripsEveryField) {
  KeySet set = MakeSet();
  AddKeyVersion(set);
  auto text = SerializeKeySet(set);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_TRUE(Contains(text->value(), "\"format\":\"idsync-keyset\",\"version\":1")) << text->value();
  auto back = ParseKeySet(text->value());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, set.id);
  EXPECT_EQ(back->active_version, 2u);
  EXPECT_EQ(back->box_public, set.box_public);
  EXPECT_EQ(back->box_secret, set.box_secret);
  ASSERT_EQ(back->versions.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->versions[i].version, set.versions[i].version);
    EXPECT_EQ(back->versions[i].key, set.versions[i].key);
    EXPECT_EQ(back->versions[i].created_at, set.versions[i].created_at);
  }
}

TEST(KeySetTest, SerializeRefusesAMalformedSet) {
  KeySet set = MakeSet();
  set.active_version = 7;
  EXPECT_EQ(SerializeKeySet(set).error().code, ErrorCode::kInvalidArgument);
  set = MakeSet();
  set.id = "not-hex";
  EXPECT_EQ(SerializeKeySet(set).error().code, ErrorCode::kInvalidArgument);
}

TEST(KeySetTest, ParseRefusesMalformedDocumentsAsDamaged) {
  KeySet set = MakeSet();
  const std::string good = SerializeKeySet(set)->value();
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? text : text.replace(at, from.size(), to);
  };
  const std::vector<std::string> bad = {
      "",
      "not json",
      "[]",
      replaced("idsync-keyset", "something-else"),
      replaced("\"active_version\":1", "\"active_version\":2"),
      replaced("\"keys\":[", "\"keyz\":["),
      replaced("\"version\":1,\"key\":\"", "\"version\":1,\"key\":\"AAAA"),
      replaced("\"id\":\"", "\"id\":\"x"),
      replaced("\"version\":1,\"key\"", "\"version\":-1,\"key\""),
      replaced("\"box_public\":\"", "\"box_public\":\"A"),
  };
  for (const std::string& text : bad) {
    auto parsed = ParseKeySet(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kKeyFileDamaged) << text;
  }
  // A different but valid box key pair half: the pair no longer matches.
  KeySet other = MakeSet();
  KeySet mixed = set;
  mixed.box_public = other.box_public;
  auto parsed = ParseKeySet(SerializeKeySet(mixed)->value());
  ASSERT_FALSE(parsed);
  EXPECT_TRUE(Contains(parsed.error().message, "box_public")) << parsed.error().message;
}

TEST(KeySetTest, ADeeplyNestedDocumentIsDamagedNotACrash) {
  const size_t depth = 500000;
  for (const std::string& text : {std::string(depth, '[') + std::string(depth, ']'),
                                  "{\"keys\":" + std::string(depth, '[') + std::string(depth, ']') + "}"}) {
    auto parsed = ParseKeySet(text);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kKeyFileDamaged);
  }
}

TEST(KeySetTest, ANewerDocumentVersionIsUnsupported) {
  std::string text = SerializeKeySet(MakeSet())->value();
  text.replace(text.find("\"version\":1"), 11, "\"version\":2");
  auto parsed = ParseKeySet(text);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kUnsupported);
}

TEST(KeySetFileTest, TheLocalFileIsOwnerOnlyAndReadsBack) {
  TempDir dir;
  const auto path = dir.path() / "keyset.json";
  KeySet set = MakeSet();
  ASSERT_TRUE(WriteKeySetFile(path, set));
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = ReadKeySetFile(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, set.id);
  EXPECT_EQ(back->versions[0].key, set.versions[0].key);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);  // no temporary left
}

TEST(KeySetFileTest, WritingReplacesAnExistingFileAndItsLooseMode) {
  TempDir dir;
  const auto path = dir.path() / "keyset.json";
  WriteText(path, "old", 0644);
  KeySet set = MakeSet();
  ASSERT_TRUE(WriteKeySetFile(path, set));
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = ReadKeySetFile(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, set.id);
}

TEST(KeySetFileTest, AFileOthersMayReadIsRefusedWithTheChmodToRun) {
  TempDir dir;
  const auto path = dir.path() / "keyset.json";
  ASSERT_TRUE(WriteKeySetFile(path, MakeSet()));
  for (mode_t mode : {0644, 0640, 0602}) {
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
    auto read = ReadKeySetFile(path);
    ASSERT_FALSE(read) << std::oct << mode;
    EXPECT_EQ(read.error().code, ErrorCode::kPermission);
    EXPECT_TRUE(Contains(read.error().message, "chmod 600 " + path.string())) << read.error().message;
  }
}

TEST(KeySetFileTest, AMissingFileIsAnIoErrorNamingThePath) {
  TempDir dir;
  const auto path = dir.path() / "absent.json";
  auto read = ReadKeySetFile(path);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kIo);
  EXPECT_TRUE(Contains(read.error().message, path.string())) << read.error().message;
}

TEST(KeySetFileTest, AMalformedFileIsDamagedAndNamed) {
  TempDir dir;
  const auto path = dir.path() / "keyset.json";
  WriteText(path, "{\"format\":\"idsync-keyset\"", 0600);
  auto read = ReadKeySetFile(path);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kKeyFileDamaged);
  EXPECT_TRUE(Contains(read.error().message, path.string())) << read.error().message;
}

TEST(KeySetFileTest, WritingIntoAMissingFolderFailsWithIo) {
  TempDir dir;
  auto st = WriteKeySetFile(dir.path() / "no" / "keyset.json", MakeSet());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace idsync
