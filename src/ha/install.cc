#include "ha/install.h"

#include <sodium.h>

#include <filesystem>

#include <fmt/format.h>

#include "ha/home.h"
#include "store/db.h"
#include "store/store.h"

namespace idsync {
namespace fs = std::filesystem;
namespace {

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (unsigned char c : s)
    if (c < 0x21 || c == '\\' || c == '/' || c == ':' || c == '"' || c == 0x7f) return false;
  return true;
}

std::string RandomId() {
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}


Status Record(Store& store, const InstallOptions& o, const AccountName& account, const GroupRef& admins,
              const std::string& hash, InstallResult& result) {
  IDSYNC_ASSIGN(auto existing, store.GetMeta("installation_id"));
  if (existing)
    return Fail(ErrorCode::kAlreadyExists,
                fmt::format("database {} already holds installation {}; to add this server to it, install "
                            "with the installation's key file (--keys)",
                            store.db().Location(), *existing));
  result.installation_id = RandomId();
  IDSYNC_TRY(store.SetMeta("installation_id", result.installation_id));
  IDSYNC_TRY(store.SetMeta("created_at", NowUtc()));
  IDSYNC_TRY(store.SetServiceAccount(account.domain, account.user, hash));
  IDSYNC_TRY(store.SetRoleGroup("admins", admins.scope, admins.name));
  IDSYNC_TRY(store.RegisterServer(result.server, fs::absolute(o.home_dir).string()));
  IDSYNC_TRY(store.SetActiveServer(result.server, 1));
  result.epoch = 1;
  return {};
}

}  // namespace

std::string AccountName::ToString() const { return domain.empty() ? user : domain + "\\" + user; }

Result<AccountName> ParseAccountName(std::string_view text) {
  AccountName a;
  auto slash = text.find('\\');
  if (slash == std::string_view::npos) {
    a.user = text;
  } else {
    a.domain = text.substr(0, slash);
    a.user = text.substr(slash + 1);
  }
  if (!ValidName(a.user) || (!a.domain.empty() && !ValidName(a.domain))) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' is not a valid account name; write DOMAIN\\USER, \\USER or USER (no spaces, "
                            "quotes, slashes or colons)",
                            text));
  }
  return a;
}

Result<GroupRef> ParseGroupRef(std::string_view text, std::string_view flag) {
  auto colon = text.find(':');
  GroupRef g;
  if (colon != std::string_view::npos) {
    g.scope = text.substr(0, colon);
    g.name = text.substr(colon + 1);
  }
  if ((g.scope != "domain" && g.scope != "local") || !ValidName(g.name)) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} '{}' is not valid; write domain:NAME (a group kept in the shared database, "
                            "recommended) or local:NAME (a group of this host)",
                            flag, text));
  }
  return g;
}

Result<InstallResult> Install(InstallOptions o) {
  IDSYNC_ASSIGN(AccountName account, ParseAccountName(o.service_account));
  IDSYNC_ASSIGN(GroupRef admins, ParseGroupRef(o.admins_group, "--admins-group"));
  if (o.service_password.empty())
    return Fail(ErrorCode::kInvalidArgument, "the service account password is empty; give it on standard input");
  if (o.database.empty()) return Fail(ErrorCode::kInvalidArgument, "--db is required (for example sqlite:/var/lib/idsync/idsync.db)");
  if (auto home = ReadHome(o.home_dir); home)
    return Fail(ErrorCode::kAlreadyExists, fmt::format("{} already holds server '{}'; use another --home", o.home_dir, home->server));

  InstallResult result;
  result.server = o.server.empty() ? HostName() : o.server;
  result.database = o.database;
  IDSYNC_ASSIGN(std::string hash, HashPassword(o.service_password));

  std::string file = SqliteFileOf(o.database);
  std::error_code ec;
  bool created = !file.empty() && !fs::exists(file, ec);
  auto cleanup = [&] {
    if (!created) return;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(file + suffix, ec);
  };
  auto store = Store::Open(o.database, StoreOptions{.create_if_missing = true});
  if (!store) {
    cleanup();
    return tl::unexpected(store.error());
  }
  auto st = (*store)->Migrate();
  if (st) st = (*store)->WithWrite([&] { return Record(**store, o, account, admins, hash, result); });
  if (st) st = WriteHome(ServerHome{o.home_dir, result.server, o.database}, false);
  if (!st) {
    store->reset();
    cleanup();
    return tl::unexpected(st.error());
  }
  return result;
}

}  // namespace idsync
