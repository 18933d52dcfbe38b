// The key file: it opens only with the account's name and password, and a
// damaged copy is told apart from wrong credentials.
#include "crypto/key_file.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>
#include <iostream>

#include "crypto/keyset.h"

namespace idsync {
namespace {

// Field offsets of format version 1 (docs/key-file.md).
constexpr size_t kVersionAt = 8, kOpsAt = 10, kMemAt = 14, kSetIdAt = 62, kAccountAt = 96;
constexpr char kAccount[] = "CORP\\svc-idsync";
const KeyFileParams kCheap{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};

KeySet MakeSet() {
  auto set = NewKeySet();
  EXPECT_TRUE(set) << set.error().message;
  AddKeyVersion(*set);
  return std::move(*set);
}

std::string Seal(const KeySet& set, KeyFileParams params = kCheap) {
  auto bytes = SealKeyFile(set, kAccount, SecureString("correct horse"), params);
  EXPECT_TRUE(bytes) << bytes.error().message;
  return bytes ? *bytes : std::string();
}

Result<KeySet> Open(std::string_view bytes, std::string_view account = kAccount,
                    const std::string& password = "correct horse") {
  return OpenKeyFile(bytes, account, SecureString(password));
}

// Recomputes the trailing checksum, as a deliberate editor would.
void Rechecksum(std::string& file) {
  const size_t body = file.size() - 32;
  crypto_generichash(reinterpret_cast<unsigned char*>(file.data() + body), 32,
                     reinterpret_cast<const unsigned char*>(file.data()), body, nullptr, 0);
}

void PutBigEndian(std::string& file, size_t at, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, value >>= 8) file[at + i] = static_cast<char>(value & 0xff);
}

void ExpectDamaged(const Result<KeySet>& opened, const std::string& what) {
  ASSERT_FALSE(opened) << what;
  EXPECT_EQ(opened.error().code, ErrorCode::kKeyFileDamaged) << what << ": " << opened.error().message;
  EXPECT_NE(opened.error().message.find("use another backup copy"), std::string::npos) << opened.error().message;
}

TEST(KeyFileTest, ARoundTripRestoresTheWholeSet) {
  KeySet set = MakeSet();
  auto opened = Open(Seal(set));
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->id, set.id);
  EXPECT_EQ(opened->active_version, 2u);
  EXPECT_EQ(opened->box_public, set.box_public);
  EXPECT_EQ(opened->box_secret, set.box_secret);
  ASSERT_EQ(opened->versions.size(), 2u);
  EXPECT_EQ(opened->versions[0].key, set.versions[0].key);
  EXPECT_EQ(opened->versions[1].key, set.versions[1].key);
  EXPECT_TRUE(VerifyKeySet(*opened, set.id, {{1, CheckValue(set, 1)}, {2, CheckValue(set, 2)}}));
}

TEST(KeyFileTest, EachSealUsesAFreshSaltAndNonce) {
  KeySet set = MakeSet();
  const std::string a = Seal(set), b = Seal(set);
  EXPECT_NE(a.substr(22, 40), b.substr(22, 40));
}

TEST(KeyFileTest, AWrongPasswordIsLocked) {
  const std::string file = Seal(MakeSet());
  auto opened = Open(file, kAccount, "correct horsf");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kKeyFileLocked);
  EXPECT_NE(opened.error().message.find(std::string("credentials of ") + kAccount), std::string::npos)
      << opened.error().message;
}

TEST(KeyFileTest, AWrongAccountIsLocked) {
  const std::string file = Seal(MakeSet());
  auto opened = Open(file, "CORP\\svc-other");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kKeyFileLocked);
  EXPECT_NE(opened.error().message.find("CORP\\svc-other"), std::string::npos) << opened.error().message;
}

TEST(KeyFileTest, TheAccountIsAuthenticatedNotJustCompared) {
  std::string file = Seal(MakeSet());
  ASSERT_EQ(file.substr(kAccountAt, 4), "CORP");
  file[kAccountAt] = 'D';  // "DORP\svc-idsync", with a valid checksum
  Rechecksum(file);
  auto opened = Open(file, "DORP\\svc-idsync");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kKeyFileLocked);
}

TEST(KeyFileTest, TheHeaderIsAuthenticated) {
  std::string file = Seal(MakeSet());
  file[kSetIdAt] = file[kSetIdAt] == 'a' ? 'b' : 'a';  // another hex digit
  Rechecksum(file);
  auto info = ReadKeyFileInfo(file);
  ASSERT_TRUE(info) << info.error().message;  // structurally fine
  auto opened = Open(file);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kKeyFileLocked);
}

TEST(KeyFileTest, ATruncatedFileIsDamagedAtEveryLength) {
  const std::string file = Seal(MakeSet());
  for (size_t length = 0; length < file.size(); ++length) {
    ExpectDamaged(Open(file.substr(0, length)), "truncated to " + std::to_string(length));
    EXPECT_FALSE(ReadKeyFileInfo(file.substr(0, length)));
  }
}

TEST(KeyFileTest, AFlippedByteAnywhereIsDamaged) {
  const std::string file = Seal(MakeSet());
  for (size_t at = 0; at < file.size(); ++at) {
    std::string copy = file;
    copy[at] = static_cast<char>(copy[at] ^ 0x10);
    ExpectDamaged(Open(copy), "byte " + std::to_string(at) + " flipped");
    auto info = ReadKeyFileInfo(copy);
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().code, ErrorCode::kKeyFileDamaged);
  }
}

TEST(KeyFileTest, EmptyAndRandomBytesAreDamaged) {
  ExpectDamaged(Open(""), "empty");
  std::string noise(4096, '\0');
  randombytes_buf(noise.data(), noise.size());
  ExpectDamaged(Open(noise), "random bytes");
  ExpectDamaged(Open("IDSYNCKF" + noise), "random bytes after the magic");
  ExpectDamaged(Open("-----BEGIN PGP MESSAGE-----\n"), "another file type");
  auto opened = Open("IDSY");
  ExpectDamaged(opened, "cut inside the magic");
}

TEST(KeyFileTest, AbsurdCostInAHeaderIsRefusedBeforeDeriving) {
  const std::string file = Seal(MakeSet());
  struct Case {
    size_t at;
    int bytes;
    uint64_t value;
    const char* expect;
  };
  for (const Case& c : {Case{kMemAt, 8, uint64_t{100} << 30, "memory"}, Case{kMemAt, 8, 1024, "memory"},
                        Case{kOpsAt, 4, 0xffffffff, "pass count"}, Case{kOpsAt, 4, 0, "pass count"}}) {
    std::string copy = file;
    PutBigEndian(copy, c.at, c.value, c.bytes);
    Rechecksum(copy);
    auto opened = Open(copy);
    ExpectDamaged(opened, c.expect);
    EXPECT_NE(opened.error().message.find(c.expect), std::string::npos) << opened.error().message;
  }
}

TEST(KeyFileTest, ANewerFormatVersionIsUnsupportedAndNamed) {
  std::string file = Seal(MakeSet());
  PutBigEndian(file, kVersionAt, 2, 2);
  Rechecksum(file);
  auto opened = Open(file);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(opened.error().message.find("format version 2"), std::string::npos) << opened.error().message;
}

TEST(KeyFileTest, TheHeaderReadsWithoutThePassword) {
  KeySet set = MakeSet();
  auto info = ReadKeyFileInfo(Seal(set));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->format_version, 1);
  EXPECT_EQ(info->set_id, set.id);
  EXPECT_EQ(info->account, kAccount);
  EXPECT_EQ(info->created_at.size(), 20u);
  EXPECT_EQ(info->created_at.back(), 'Z');
}

TEST(KeyFileTest, SealingRefusesBadArguments) {
  KeySet set = MakeSet();
  EXPECT_EQ(SealKeyFile(set, "", SecureString("pw"), kCheap).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(SealKeyFile(set, "a\nb", SecureString("pw"), kCheap).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(SealKeyFile(set, kAccount, SecureString(""), kCheap).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(SealKeyFile(set, kAccount, SecureString("pw"), {crypto_pwhash_OPSLIMIT_MIN, size_t{2} << 30}).error().code,
            ErrorCode::kInvalidArgument);
  KeySet broken = set;
  broken.active_version = 9;
  EXPECT_EQ(SealKeyFile(broken, kAccount, SecureString("pw"), kCheap).error().code, ErrorCode::kInvalidArgument);
}

TEST(KeyFileTest, TheDefaultCostRoundTripsAndIsStoredInTheHeader) {
  KeySet set = MakeSet();
  const std::string file = Seal(set, DefaultKeyFileParams());
  EXPECT_EQ(static_cast<unsigned char>(file[kOpsAt + 3]), 3);
  EXPECT_EQ(file.substr(kMemAt, 8), std::string("\0\0\0\0\x08\0\0\0", 8));  // 128 MiB
  const auto start = std::chrono::steady_clock::now();
  auto opened = Open(file);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->id, set.id);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  std::cout << "opening a key file with the default cost took " << ms << " ms\n";
  RecordProperty("open_ms", static_cast<int>(ms));
}

}  // namespace
}  // namespace idsync
