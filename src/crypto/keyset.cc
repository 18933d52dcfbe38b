#include "crypto/keyset.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/private_file.h"

namespace idsync {
namespace {

using Json = nlohmann::json;

constexpr char kCheckContext[] = "idsync key check v1";
constexpr char kDocFormat[] = "idsync-keyset";
constexpr uint64_t kDocVersion = 1;
constexpr off_t kMaxFileSize = 1 << 20;  // a real key set is a few KiB

bool IsSetId(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status CheckShape(const KeySet& set) {
  if (!IsSetId(set.id)) return Fail(ErrorCode::kInvalidArgument, "key set id must be 32 lowercase hex characters");
  if (set.versions.empty()) return Fail(ErrorCode::kInvalidArgument, "key set " + set.id + " has no key versions");
  uint32_t previous = 0;
  for (const KeyVersion& v : set.versions) {
    if (v.version <= previous) {
      return Fail(ErrorCode::kInvalidArgument, "key set " + set.id + ": key versions must be 1 or more, ascending, " +
                                                   "without duplicates (found " + std::to_string(v.version) + ")");
    }
    previous = v.version;
  }
  if (FindVersion(set, set.active_version) == nullptr) {
    return Fail(ErrorCode::kInvalidArgument,
                "key set " + set.id + ": active version " + std::to_string(set.active_version) + " is not in the set");
  }
  return {};
}

// nlohmann::json does not wipe its strings; the parsed document holds keys.
// Keys sit at most three levels down, and the limit keeps a hostile, deeply
// nested document from exhausting the stack.
void WipeJson(Json& j, int depth = 0) {
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    sodium_memzero(s.data(), s.size());
  } else if (j.is_structured() && depth < 4) {
    for (auto& child : j) WipeJson(child, depth + 1);
  }
}

void AppendBase64(std::string& out, const std::array<unsigned char, 32>& bytes) {
  char buf[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(buf, sizeof buf, bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.append(buf);
  sodium_memzero(buf, sizeof buf);
}

tl::unexpected<Error> Damaged(const std::string& field, std::string_view what) {
  return Fail(ErrorCode::kKeyFileDamaged, "key set document: field '" + field + "' " + std::string(what));
}

// The getters read obj[key]; `where` is the path of obj for messages ("" or "keys[1].").
Result<const std::string*> StringField(const Json& obj, const std::string& where, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return Damaged(where + key, "is missing");
  if (!it->is_string()) return Damaged(where + key, "is not a string");
  return &it->get_ref<const std::string&>();
}

Status GetString(const Json& obj, const std::string& where, const char* key, std::string& out) {
  IDSYNC_ASSIGN(const std::string* text, StringField(obj, where, key));
  out = *text;
  return {};
}

Status GetKey(const Json& obj, const std::string& where, const char* key, std::array<unsigned char, 32>& out) {
  IDSYNC_ASSIGN(const std::string* text, StringField(obj, where, key));
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text->data(), text->size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != out.size() || end != text->data() + text->size()) {
    return Damaged(where + key, "is not 32 bytes in base64");
  }
  return {};
}

Status GetUint32(const Json& obj, const std::string& where, const char* key, uint32_t& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Damaged(where + key, "is missing");
  if (!it->is_number_unsigned() || it->get<uint64_t>() > UINT32_MAX) {
    return Damaged(where + key, "is not a whole number from 0 to 4294967295");
  }
  out = static_cast<uint32_t>(it->get<uint64_t>());
  return {};
}

}  // namespace

KeyVersion::KeyVersion(KeyVersion&& other) noexcept { *this = std::move(other); }

KeyVersion& KeyVersion::operator=(KeyVersion&& other) noexcept {
  if (this != &other) {
    version = other.version;
    key = other.key;
    created_at = std::move(other.created_at);
    sodium_memzero(other.key.data(), other.key.size());
  }
  return *this;
}

KeyVersion::~KeyVersion() { sodium_memzero(key.data(), key.size()); }

KeySet::KeySet(KeySet&& other) noexcept { *this = std::move(other); }

KeySet& KeySet::operator=(KeySet&& other) noexcept {
  if (this != &other) {
    id = std::move(other.id);
    active_version = other.active_version;
    versions = std::move(other.versions);
    box_public = other.box_public;
    box_secret = other.box_secret;
    other.active_version = 0;
    other.versions.clear();
    sodium_memzero(other.box_secret.data(), other.box_secret.size());
  }
  return *this;
}

KeySet::~KeySet() { sodium_memzero(box_secret.data(), box_secret.size()); }

bool SodiumReady() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

Result<KeySet> NewKeySet() {
  if (!SodiumReady()) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  KeySet set;
  unsigned char raw_id[16];
  randombytes_buf(raw_id, sizeof raw_id);
  char hex[sizeof raw_id * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, raw_id, sizeof raw_id);
  set.id = hex;
  crypto_box_keypair(set.box_public.data(), set.box_secret.data());
  AddKeyVersion(set);
  return set;
}

const KeyVersion* FindVersion(const KeySet& set, uint32_t version) {
  for (const KeyVersion& v : set.versions) {
    if (v.version == version) return &v;
  }
  return nullptr;
}

uint32_t AddKeyVersion(KeySet& set) {
  SodiumReady();
  uint32_t highest = 0;
  for (const KeyVersion& v : set.versions) highest = std::max(highest, v.version);
  KeyVersion& added = set.versions.emplace_back();
  added.version = highest + 1;
  crypto_aead_xchacha20poly1305_ietf_keygen(added.key.data());
  added.created_at = NowUtc();
  set.active_version = added.version;
  return added.version;
}

std::string CheckValue(const KeySet& set, uint32_t version) {
  const KeyVersion* v = FindVersion(set, version);
  if (v == nullptr || !SodiumReady()) return "";
  const unsigned char number[4] = {static_cast<unsigned char>(version >> 24), static_cast<unsigned char>(version >> 16),
                                   static_cast<unsigned char>(version >> 8), static_cast<unsigned char>(version)};
  crypto_generichash_state state;
  crypto_generichash_init(&state, v->key.data(), v->key.size(), 32);
  // The NUL after the context and after the id keeps the fields apart.
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(kCheckContext), sizeof kCheckContext);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(set.id.c_str()), set.id.size() + 1);
  crypto_generichash_update(&state, number, sizeof number);
  unsigned char digest[32];
  crypto_generichash_final(&state, digest, sizeof digest);
  sodium_memzero(&state, sizeof state);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

Status VerifyKeySet(const KeySet& set, std::string_view recorded_id,
                    const std::map<uint32_t, std::string>& recorded_checks) {
  const std::string recorded(recorded_id);
  if (set.id != recorded) {
    return Fail(ErrorCode::kKeySetMismatch, "this key set belongs to another installation (key set " + set.id +
                                                ", this installation uses " + recorded + ")");
  }
  if (recorded_checks.empty()) {
    return Fail(ErrorCode::kKeySetMismatch,
                "the database records no check values for key set " + recorded + ", so it cannot be verified");
  }
  const std::string advice = "; export a current key file from the active server and use that";
  for (const auto& [version, expected] : recorded_checks) {
    if (FindVersion(set, version) == nullptr) {
      return Fail(ErrorCode::kKeySetMismatch, "this is an older or altered copy of key set " + recorded +
                                                  ": it lacks key version " + std::to_string(version) + advice);
    }
    const std::string actual = CheckValue(set, version);
    if (actual.size() != expected.size() || sodium_memcmp(actual.data(), expected.data(), actual.size()) != 0) {
      return Fail(ErrorCode::kKeySetMismatch, "this is an older or altered copy of key set " + recorded +
                                                  ": key version " + std::to_string(version) +
                                                  " does not match the database's check value" + advice);
    }
  }
  return {};
}

Result<SecureString> SerializeKeySet(const KeySet& set) {
  IDSYNC_TRY(CheckShape(set));
  // Reserve everything up front so the buffer holding keys never reallocates
  // and leaves an unwiped copy behind.
  std::vector<std::string> stamps;
  size_t size = 400;
  for (const KeyVersion& v : set.versions) {
    stamps.push_back(Json(v.created_at).dump(-1, ' ', false, Json::error_handler_t::replace));
    size += stamps.back().size() + 100;
  }
  SecureString text;
  std::string& out = text.mutable_value();
  out.reserve(size);
  out += "{\"format\":\"";
  out += kDocFormat;
  out += "\",\"version\":" + std::to_string(kDocVersion) + ",\"id\":\"" + set.id + "\",\"active_version\":";
  out += std::to_string(set.active_version);
  out += ",\"box_public\":\"";
  AppendBase64(out, set.box_public);
  out += "\",\"box_secret\":\"";
  AppendBase64(out, set.box_secret);
  out += "\",\"keys\":[";
  for (size_t i = 0; i < set.versions.size(); ++i) {
    out += i == 0 ? "{\"version\":" : ",{\"version\":";
    out += std::to_string(set.versions[i].version);
    out += ",\"key\":\"";
    AppendBase64(out, set.versions[i].key);
    out += "\",\"created_at\":";
    out += stamps[i];
    out += "}";
  }
  out += "]}\n";
  return text;
}

Result<KeySet> ParseKeySet(std::string_view text) {
  Json doc = Json::parse(text.begin(), text.end(), nullptr, false);
  struct Wiper {
    Json& doc;
    ~Wiper() { WipeJson(doc); }
  } wiper{doc};
  if (doc.is_discarded() || !doc.is_object()) {
    return Fail(ErrorCode::kKeyFileDamaged, "key set document is not a JSON object");
  }
  if (!SodiumReady()) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  std::string format;
  IDSYNC_TRY(GetString(doc, "", "format", format));
  if (format != kDocFormat) return Damaged("format", "is '" + format + "', not '" + kDocFormat + "'");
  uint32_t doc_version = 0;
  IDSYNC_TRY(GetUint32(doc, "", "version", doc_version));
  if (doc_version > kDocVersion) {
    return Fail(ErrorCode::kUnsupported, "key set document version " + std::to_string(doc_version) +
                                             " is newer than this program reads (" + std::to_string(kDocVersion) +
                                             "); use a newer idsync");
  }
  if (doc_version != kDocVersion) return Damaged("version", "is 0");
  KeySet set;
  IDSYNC_TRY(GetString(doc, "", "id", set.id));
  IDSYNC_TRY(GetUint32(doc, "", "active_version", set.active_version));
  IDSYNC_TRY(GetKey(doc, "", "box_public", set.box_public));
  IDSYNC_TRY(GetKey(doc, "", "box_secret", set.box_secret));
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) return Damaged("keys", "is missing or not a list");
  for (size_t i = 0; i < keys->size(); ++i) {
    const Json& entry = (*keys)[i];
    const std::string prefix = "keys[" + std::to_string(i) + "].";
    if (!entry.is_object()) return Damaged("keys[" + std::to_string(i) + "]", "is not an object");
    KeyVersion& v = set.versions.emplace_back();
    IDSYNC_TRY(GetUint32(entry, prefix, "version", v.version));
    IDSYNC_TRY(GetKey(entry, prefix, "key", v.key));
    IDSYNC_TRY(GetString(entry, prefix, "created_at", v.created_at));
  }
  if (auto shape = CheckShape(set); !shape) {
    return Fail(ErrorCode::kKeyFileDamaged, "key set document: " + shape.error().message);
  }
  std::array<unsigned char, 32> derived{};
  crypto_scalarmult_base(derived.data(), set.box_secret.data());
  if (sodium_memcmp(derived.data(), set.box_public.data(), derived.size()) != 0) {
    return Damaged("box_public", "does not belong to box_secret");
  }
  return set;
}

Status WriteKeySetFile(const std::filesystem::path& path, const KeySet& set) {
  IDSYNC_ASSIGN(SecureString text, SerializeKeySet(set));
  return WritePrivateFile(path, text.value());
}

Result<KeySet> ReadKeySetFile(const std::filesystem::path& path) {
  const std::string name = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Fail(ErrorCode::kIo, "key set file " + name + " does not exist");
    return Fail(ErrorCode::kIo, "cannot open key set file " + name + ": " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return Fail(ErrorCode::kIo, "cannot read key set file " + name + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Fail(ErrorCode::kIo, "key set file " + name + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Fail(ErrorCode::kPermission, "key set file " + name + " has mode " + mode +
                                            ", so other accounts may read or change the keys; run `chmod 600 " + name +
                                            "`");
  }
  if (st.st_size > kMaxFileSize) {
    return Fail(ErrorCode::kKeyFileDamaged, "key set file " + name + " is damaged: it is far too large");
  }
  SecureString text(std::string(static_cast<size_t>(st.st_size), '\0'));
  std::string& buf = text.mutable_value();
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(ErrorCode::kIo, "cannot read key set file " + name + ": " + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  auto set = ParseKeySet(std::string_view(buf.data(), done));
  if (!set) return Wrap(set.error(), "key set file " + name);
  return set;
}

}  // namespace idsync
