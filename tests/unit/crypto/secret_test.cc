// Secrets stored in the database: sealed under the active key, tied to their row.
#include "crypto/secret.h"

#include <gtest/gtest.h>

#include "crypto/keyset.h"

namespace idsync {
namespace {

constexpr char kBinding[] = "ma:hr-ldap:password";

KeySet MakeSet() {
  auto set = NewKeySet();
  EXPECT_TRUE(set) << set.error().message;
  return std::move(*set);
}

std::string Seal(const KeySet& set, const std::string& secret, std::string_view binding = kBinding) {
  auto sealed = SealSecret(set, binding, SecureString(secret));
  EXPECT_TRUE(sealed) << sealed.error().message;
  return sealed ? *sealed : std::string();
}

TEST(SecretTest, ASealedSecretOpensWithTheSameSetAndBinding) {
  KeySet set = MakeSet();
  const std::string sealed = Seal(set, "s3cret, with spaces & ünïcode");
  EXPECT_EQ(sealed.rfind("v1:1:", 0), 0u) << sealed;
  EXPECT_EQ(sealed.find("s3cret"), std::string::npos);
  auto opened = OpenSecret(set, kBinding, sealed);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->value(), "s3cret, with spaces & ünïcode");
  EXPECT_NE(Seal(set, "same"), Seal(set, "same"));  // a fresh nonce each time
}

TEST(SecretTest, AnEmptySecretRoundTrips) {
  KeySet set = MakeSet();
  auto opened = OpenSecret(set, kBinding, Seal(set, ""));
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_TRUE(opened->empty());
}

TEST(SecretTest, AfterRotationOldSecretsStillOpenAndNewOnesUseTheNewKey) {
  KeySet set = MakeSet();
  const std::string old_sealed = Seal(set, "old");
  AddKeyVersion(set);
  const std::string new_sealed = Seal(set, "new");
  EXPECT_EQ(*SealedSecretVersion(old_sealed), 1u);
  EXPECT_EQ(*SealedSecretVersion(new_sealed), 2u);
  EXPECT_EQ(OpenSecret(set, kBinding, old_sealed)->value(), "old");
  EXPECT_EQ(OpenSecret(set, kBinding, new_sealed)->value(), "new");
}

TEST(SecretTest, ASecretCopiedToAnotherRowDoesNotOpen) {
  KeySet set = MakeSet();
  auto opened = OpenSecret(set, "ma:hr-ldap:bind-password", Seal(set, "pw"));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kDatabase);
}

TEST(SecretTest, AnAlteredCiphertextDoesNotOpen) {
  KeySet set = MakeSet();
  std::string sealed = Seal(set, "password");
  char& c = sealed[sealed.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  auto opened = OpenSecret(set, kBinding, sealed);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kDatabase);
}

TEST(SecretTest, TheKeyVersionInTheTextIsAuthenticated) {
  KeySet set = MakeSet();
  AddKeyVersion(set);
  set.versions[1].key = set.versions[0].key;  // so only the version number differs
  set.active_version = 1;
  std::string sealed = Seal(set, "pw");
  sealed.replace(0, 5, "v1:2:");
  auto opened = OpenSecret(set, kBinding, sealed);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kDatabase);
}

TEST(SecretTest, AVersionTheSetLacksIsAKeySetMismatch) {
  KeySet set = MakeSet();
  KeySet old_copy = set;
  AddKeyVersion(set);
  auto opened = OpenSecret(old_copy, kBinding, Seal(set, "pw"));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kKeySetMismatch);
  EXPECT_NE(opened.error().message.find("key version 2"), std::string::npos) << opened.error().message;
}

TEST(SecretTest, AnotherInstallationsSecretDoesNotOpen) {
  auto opened = OpenSecret(MakeSet(), kBinding, Seal(MakeSet(), "pw"));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kDatabase);
}

TEST(SecretTest, MalformedTextIsRefusedAsDamagedData) {
  KeySet set = MakeSet();
  const std::string good = Seal(set, "pw");
  const std::string body = good.substr(5);
  const std::vector<std::string> bad = {
      "",
      "v",
      "v1",
      "v1:",
      "v1:1",
      "v1:1:",
      "v1::" + body,
      "v1:0:" + body,
      "v1:01:" + body,
      "v1:x:" + body,
      "v1:-1:" + body,
      "v1:99999999999:" + body,
      "v1:4294967296:" + body,
      "v1:1:!!!!",
      "v1:1:AAAA",
      "v1:1:" + body + "=",
      "V1:1:" + body,
      "plain text password",
      good.substr(0, good.size() - 4),
  };
  for (const std::string& text : bad) {
    auto opened = OpenSecret(set, kBinding, text);
    ASSERT_FALSE(opened) << text;
    EXPECT_EQ(opened.error().code, ErrorCode::kDatabase) << text;
  }
  for (std::string_view text : {"", "v1:", "v1:0:abc", "v1:x:abc", "v1:4294967296:abc"}) {
    auto version = SealedSecretVersion(text);
    ASSERT_FALSE(version) << text;
    EXPECT_EQ(version.error().code, ErrorCode::kDatabase) << text;
  }
  EXPECT_EQ(*SealedSecretVersion("v1:4294967295:abc"), 4294967295u);
}

TEST(SecretTest, ANewerTextFormatIsUnsupported) {
  KeySet set = MakeSet();
  auto opened = OpenSecret(set, kBinding, "v2:1:AAAA");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace idsync
