#include "crypto/key_file.h"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "core/clock.h"
#include "crypto/keyset.h"

namespace idsync {
namespace {

// Layout and reasoning: docs/key-file.md.
constexpr std::string_view kMagic = "IDSYNCKF";
constexpr uint16_t kFormatVersion = 1;
constexpr size_t kSaltBytes = crypto_pwhash_SALTBYTES;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kChecksumBytes = 32;
constexpr size_t kSetIdBytes = 32;
constexpr size_t kMaxAccount = 512;
constexpr size_t kMaxStamp = 64;
constexpr size_t kMaxPayload = 1 << 20;
// Bounds on the Argon2id cost a file may ask for, so a hostile file cannot make
// us allocate or compute without limit.
constexpr unsigned long long kMinOps = crypto_pwhash_OPSLIMIT_MIN;
constexpr unsigned long long kMaxOps = 10;
constexpr size_t kMinMem = crypto_pwhash_MEMLIMIT_MIN;
constexpr size_t kMaxMem = size_t{1} << 30;

static_assert(kSaltBytes == 16);

struct Header {
  uint16_t version = 0;
  uint32_t opslimit = 0;
  uint64_t memlimit = 0;
  std::array<unsigned char, kSaltBytes> salt{};
  std::array<unsigned char, kNonceBytes> nonce{};
  std::string set_id, account, created_at;
  size_t size = 0;  // bytes from the magic through the payload length: the associated data
  std::string_view payload;
};

tl::unexpected<Error> Damaged(std::string_view what) {
  return Fail(ErrorCode::kKeyFileDamaged,
              "the key file is damaged: " + std::string(what) + "; use another backup copy");
}

// Reads big-endian fields; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Bytes(size_t n, std::string_view& out) {
    if (data_.size() - pos_ < n) return false;
    out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  template <class T>
  bool Number(T& out) {
    std::string_view raw;
    if (!Bytes(sizeof(T), raw)) return false;
    out = 0;
    for (char c : raw) out = static_cast<T>((out << 8) | static_cast<unsigned char>(c));
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

template <class T>
void PutNumber(std::string& out, T value) {
  for (int shift = 8 * (sizeof(T) - 1); shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

bool IsLowerHex(std::string_view s) { return s.find_first_not_of("0123456789abcdef") == std::string_view::npos; }

bool HasControlChars(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::array<unsigned char, kChecksumBytes> Checksum(std::string_view data) {
  std::array<unsigned char, kChecksumBytes> sum{};
  crypto_generichash(sum.data(), sum.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr,
                     0);
  return sum;
}

// Checks magic, checksum and format version in that order, then reads the
// header. The checksum comes before the version so a flipped version byte
// reads as damage, not as a newer format.
Result<Header> ParseHeader(std::string_view bytes) {
  if (bytes.empty()) return Damaged("the file is empty");
  if (bytes.substr(0, kMagic.size()) != kMagic.substr(0, std::min(bytes.size(), kMagic.size()))) {
    return Damaged("it is not an idsync key file (it does not start with \"IDSYNCKF\")");
  }
  if (bytes.size() < kMagic.size() + sizeof(uint16_t) + kChecksumBytes) {
    return Damaged("it ends after " + std::to_string(bytes.size()) + " bytes, too short for a key file");
  }
  const std::string_view body = bytes.substr(0, bytes.size() - kChecksumBytes);
  const auto sum = Checksum(body);
  if (sodium_memcmp(sum.data(), bytes.data() + body.size(), kChecksumBytes) != 0) {
    return Damaged("its checksum does not match, so it was truncated or changed after it was written");
  }
  Header h;
  Reader in(body);
  std::string_view raw;
  in.Bytes(kMagic.size(), raw);
  in.Number(h.version);
  if (h.version > kFormatVersion) {
    return Fail(ErrorCode::kUnsupported, "the key file has format version " + std::to_string(h.version) +
                                             ", newer than this program reads (" + std::to_string(kFormatVersion) +
                                             "); use a newer idsync");
  }
  if (h.version != kFormatVersion) return Damaged("its format version is 0");
  uint16_t account_size = 0;
  uint8_t stamp_size = 0;
  uint32_t payload_size = 0;
  std::string_view salt, nonce, set_id, account, stamp;
  if (!in.Number(h.opslimit) || !in.Number(h.memlimit) || !in.Bytes(kSaltBytes, salt) ||
      !in.Bytes(kNonceBytes, nonce) || !in.Bytes(kSetIdBytes, set_id) || !in.Number(account_size) ||
      !in.Bytes(account_size, account) || !in.Number(stamp_size) || !in.Bytes(stamp_size, stamp) ||
      !in.Number(payload_size)) {
    return Damaged("its header is cut short");
  }
  if (h.opslimit < kMinOps || h.opslimit > kMaxOps) {
    return Damaged("its Argon2id pass count " + std::to_string(h.opslimit) + " is outside " + std::to_string(kMinOps) +
                   ".." + std::to_string(kMaxOps));
  }
  if (h.memlimit < kMinMem || h.memlimit > kMaxMem) {
    return Damaged("its Argon2id memory size of " + std::to_string(h.memlimit) + " bytes is outside 8 KiB..1 GiB");
  }
  if (!IsLowerHex(set_id)) return Damaged("its key set id is not hexadecimal");
  if (account.empty() || account.size() > kMaxAccount || HasControlChars(account)) {
    return Damaged("its account name is empty, too long or holds control characters");
  }
  if (stamp.empty() || stamp.size() > kMaxStamp || HasControlChars(stamp)) {
    return Damaged("its creation time is empty, too long or holds control characters");
  }
  h.size = in.pos();
  if (payload_size != body.size() - h.size || payload_size < kTagBytes || payload_size > kMaxPayload) {
    return Damaged("its payload length field does not match the file");
  }
  std::copy(salt.begin(), salt.end(), h.salt.begin());
  std::copy(nonce.begin(), nonce.end(), h.nonce.begin());
  h.set_id = set_id;
  h.account = account;
  h.created_at = stamp;
  h.payload = body.substr(h.size);
  return h;
}

bool DeriveKey(std::array<unsigned char, 32>& key, const SecureString& password, const Header& h) {
  const std::string& pw = password.value();
  return crypto_pwhash(key.data(), key.size(), pw.data(), pw.size(), h.salt.data(), h.opslimit, h.memlimit,
                       crypto_pwhash_ALG_ARGON2ID13) == 0;
}

tl::unexpected<Error> NoMemory(const Header& h) {
  return Fail(ErrorCode::kInternal, "not enough memory to derive the key file's key (Argon2id needs " +
                                        std::to_string(h.memlimit >> 20) + " MiB)");
}

}  // namespace

KeyFileParams DefaultKeyFileParams() { return KeyFileParams{3, size_t{128} << 20}; }

Result<std::string> SealKeyFile(const KeySet& set, std::string_view account, const SecureString& password,
                                KeyFileParams params) {
  if (!SodiumReady()) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  if (account.empty() || account.size() > kMaxAccount || HasControlChars(account)) {
    return Fail(ErrorCode::kInvalidArgument,
                "the key file's account name must be 1 to 512 bytes without control characters");
  }
  if (password.empty()) return Fail(ErrorCode::kInvalidArgument, "the key file's password is empty");
  if (params.opslimit < kMinOps || params.opslimit > kMaxOps || params.memlimit < kMinMem ||
      params.memlimit > kMaxMem) {
    return Fail(ErrorCode::kInvalidArgument, "key file Argon2id cost out of range (passes " + std::to_string(kMinOps) +
                                                 ".." + std::to_string(kMaxOps) + ", memory 8 KiB..1 GiB)");
  }
  IDSYNC_ASSIGN(SecureString plain, SerializeKeySet(set));
  const std::string stamp = NowUtc();

  Header h;
  h.opslimit = static_cast<uint32_t>(params.opslimit);
  h.memlimit = params.memlimit;
  randombytes_buf(h.salt.data(), h.salt.size());
  randombytes_buf(h.nonce.data(), h.nonce.size());
  const size_t payload_size = plain.value().size() + kTagBytes;

  std::string out(kMagic);
  PutNumber(out, kFormatVersion);
  PutNumber(out, h.opslimit);
  PutNumber(out, h.memlimit);
  out.append(reinterpret_cast<const char*>(h.salt.data()), h.salt.size());
  out.append(reinterpret_cast<const char*>(h.nonce.data()), h.nonce.size());
  out += set.id;
  PutNumber(out, static_cast<uint16_t>(account.size()));
  out += account;
  PutNumber(out, static_cast<uint8_t>(stamp.size()));
  out += stamp;
  PutNumber(out, static_cast<uint32_t>(payload_size));
  const size_t header_size = out.size();

  std::array<unsigned char, 32> key{};
  if (!DeriveKey(key, password, h)) return NoMemory(h);
  out.resize(header_size + payload_size);
  auto* data = reinterpret_cast<unsigned char*>(out.data());
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      data + header_size, &written, reinterpret_cast<const unsigned char*>(plain.value().data()), plain.value().size(),
      data, header_size, nullptr, h.nonce.data(), key.data());
  sodium_memzero(key.data(), key.size());
  const auto sum = Checksum(out);
  out.append(reinterpret_cast<const char*>(sum.data()), sum.size());
  return out;
}

Result<KeySet> OpenKeyFile(std::string_view bytes, std::string_view account, const SecureString& password) {
  if (!SodiumReady()) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  IDSYNC_ASSIGN(Header h, ParseHeader(bytes));
  const std::string locked = "the key file does not open with the credentials of " + std::string(account);
  if (account != h.account) {
    return Fail(ErrorCode::kKeyFileLocked,
                locked + ": it was sealed for " + h.account + "; give that account's name and password");
  }
  std::array<unsigned char, 32> key{};
  if (!DeriveKey(key, password, h)) return NoMemory(h);
  SecureString plain(std::string(h.payload.size() - kTagBytes, '\0'));
  unsigned long long plain_size = 0;
  const int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      reinterpret_cast<unsigned char*>(plain.mutable_value().data()), &plain_size, nullptr,
      reinterpret_cast<const unsigned char*>(h.payload.data()), h.payload.size(),
      reinterpret_cast<const unsigned char*>(bytes.data()), h.size, h.nonce.data(), key.data());
  sodium_memzero(key.data(), key.size());
  if (rc != 0) {
    return Fail(ErrorCode::kKeyFileLocked,
                locked + "; check the password (it is the password the account had when the file was exported)");
  }
  auto set = ParseKeySet(plain.value());
  if (!set) {
    if (set.error().code == ErrorCode::kKeyFileDamaged) return Damaged(set.error().message);
    return tl::unexpected(set.error());
  }
  if (set->id != h.set_id) return Damaged("its payload holds key set " + set->id + ", not " + h.set_id);
  return set;
}

Result<KeyFileInfo> ReadKeyFileInfo(std::string_view bytes) {
  if (!SodiumReady()) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  IDSYNC_ASSIGN(Header h, ParseHeader(bytes));
  return KeyFileInfo{h.version, h.set_id, h.account, h.created_at};
}

}  // namespace idsync
