#include "crypto/secret.h"

#include <sodium.h>

#include <vector>

#include "crypto/keyset.h"

namespace idsync {
namespace {

constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

struct Parsed {
  uint32_t version = 0;
  std::string_view prefix;  // "v1:<version>:", authenticated with the binding
  std::string_view body;    // base64 of nonce || ciphertext
};

tl::unexpected<Error> Malformed(std::string_view what) {
  return Fail(ErrorCode::kDatabase, "stored secret is malformed: " + std::string(what));
}

Result<Parsed> Parse(std::string_view sealed) {
  if (sealed.size() >= 3 && sealed[0] == 'v' && sealed.substr(0, 3) != "v1:") {
    size_t colon = sealed.find(':');
    if (colon != std::string_view::npos && colon > 1 &&
        sealed.substr(1, colon - 1).find_first_not_of("0123456789") == std::string_view::npos) {
      return Fail(ErrorCode::kUnsupported, "stored secret uses format " + std::string(sealed.substr(0, colon)) +
                                               ", which this program does not read; use a newer idsync");
    }
  }
  if (sealed.substr(0, 3) != "v1:") return Malformed("it does not start with 'v1:'");
  size_t colon = sealed.find(':', 3);
  if (colon == std::string_view::npos) return Malformed("the key version is not followed by ':'");
  std::string_view digits = sealed.substr(3, colon - 3);
  if (digits.empty() || digits.size() > 10 || digits[0] == '0' ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return Malformed("the key version is not a number from 1 to 4294967295");
  }
  uint64_t version = 0;
  for (char c : digits) version = version * 10 + static_cast<uint64_t>(c - '0');
  if (version > UINT32_MAX) return Malformed("the key version is not a number from 1 to 4294967295");
  return Parsed{static_cast<uint32_t>(version), sealed.substr(0, colon + 1), sealed.substr(colon + 1)};
}

// Associated data: the text's own prefix (so the version cannot be rewritten)
// followed by the binding.
std::string AssociatedData(std::string_view prefix, std::string_view binding) {
  std::string ad(prefix);
  ad += binding;
  return ad;
}

}  // namespace

Result<std::string> SealSecret(const KeySet& set, std::string_view binding, const SecureString& secret) {
  if (!SodiumReady()) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  const KeyVersion* key = FindVersion(set, set.active_version);
  if (key == nullptr) {
    return Fail(ErrorCode::kInvalidArgument,
                "key set " + set.id + " has no active key version " + std::to_string(set.active_version));
  }
  const std::string prefix = "v1:" + std::to_string(key->version) + ":";
  const std::string ad = AssociatedData(prefix, binding);
  const std::string& plain = secret.value();
  std::vector<unsigned char> box(kNonceBytes + plain.size() + kTagBytes);
  randombytes_buf(box.data(), kNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      box.data() + kNonceBytes, &written, reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, box.data(), key->key.data());
  std::string out = prefix;
  const size_t encoded = sodium_base64_ENCODED_LEN(box.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(prefix.size() + encoded);
  sodium_bin2base64(out.data() + prefix.size(), encoded, box.data(), box.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(prefix.size() + encoded - 1);  // drop the terminating NUL
  return out;
}

Result<SecureString> OpenSecret(const KeySet& set, std::string_view binding, std::string_view sealed) {
  if (!SodiumReady()) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  IDSYNC_ASSIGN(Parsed parsed, Parse(sealed));
  constexpr size_t kMinBody = sodium_base64_ENCODED_LEN(kNonceBytes + kTagBytes, sodium_base64_VARIANT_ORIGINAL) - 1;
  if (parsed.body.size() < kMinBody) return Malformed("it is too short to hold a nonce and a tag");
  std::vector<unsigned char> box(parsed.body.size());
  size_t box_size = 0;
  const char* end = nullptr;
  if (sodium_base642bin(box.data(), box.size(), parsed.body.data(), parsed.body.size(), nullptr, &box_size, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != parsed.body.data() + parsed.body.size()) {
    return Malformed("the text after the key version is not base64");
  }
  if (box_size < kNonceBytes + kTagBytes) return Malformed("it is too short to hold a nonce and a tag");
  const KeyVersion* key = FindVersion(set, parsed.version);
  if (key == nullptr) {
    return Fail(ErrorCode::kKeySetMismatch, "stored secret for " + std::string(binding) +
                                                " is sealed with key version " + std::to_string(parsed.version) +
                                                ", which key set " + set.id + " does not hold; use a current key file");
  }
  const std::string ad = AssociatedData(parsed.prefix, binding);
  SecureString plain(std::string(box_size - kNonceBytes - kTagBytes, '\0'));
  unsigned long long plain_size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.mutable_value().data()),
                                                 &plain_size, nullptr, box.data() + kNonceBytes, box_size - kNonceBytes,
                                                 reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
                                                 box.data(), key->key.data()) != 0) {
    return Fail(ErrorCode::kDatabase, "stored secret for " + std::string(binding) +
                                          " does not decrypt: it was altered or belongs to another row; set it again");
  }
  return plain;
}

Result<uint32_t> SealedSecretVersion(std::string_view sealed) {
  IDSYNC_ASSIGN(Parsed parsed, Parse(sealed));
  return parsed.version;
}

}  // namespace idsync
