// The `idsync-kmu` program: key management.
//   idsync-kmu export FILE [UserName {Password | *}]   (also /e FILE /u:UserName {Password | *})
//   idsync-kmu list [FILE] | rotate | abandon [/q]
#include <cstdio>
#include <cstring>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "crypto/key_file.h"
#include "ha/home.h"
#include "ha/keys.h"
#include "ha/kmu.h"
#include "store/schema.h"
#include "store/store.h"

namespace idsync {
namespace {

constexpr const char* kUsage = R"(idsync-kmu: manage the idsync key set of this server.

usage: idsync-kmu export FileName [UserName {Password | *}]
       idsync-kmu /e FileName /u:UserName {Password | *}
       idsync-kmu list [FileName]
       idsync-kmu rotate
       idsync-kmu abandon [/q]

  export    write the key set to FileName, sealed with the service account's
            credentials (the file a standby is activated with); UserName
            defaults to the service account; * or a missing password asks
            for it without echo, - reads it from standard input
  list      the key set's id and key versions (with FileName: what a key
            file holds, without opening it)
  rotate    add a key version, make it active, re-seal stored secrets under
            it; export a new key file afterwards
  abandon   replace a lost or compromised key set: every stored management
            agent secret is deleted and must be entered again
  --home DIR      this server's home (default $IDSYNC_HOME or /var/lib/idsync)
  --json          results as JSON
  /q, -q          no confirmation (abandon)
  /?, -h, --help  this help
)";

struct Args {
  std::string command;
  std::vector<std::string> positional;
  std::string home;
  bool quiet = false, json = false, help = false;
};

Result<Args> Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "/?" || arg == "-h" || arg == "--help") {
      a.help = true;
    } else if (arg == "/q" || arg == "/Q" || arg == "-q") {
      a.quiet = true;
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--home" && i + 1 < argc) {
      a.home = argv[++i];
    } else if (arg == "/e" || arg == "/E") {
      a.command = "export";
    } else if (arg.rfind("/u:", 0) == 0 || arg.rfind("/U:", 0) == 0) {
      if (a.positional.empty())
        return Fail(ErrorCode::kInvalidArgument, "/u:UserName comes after /e FileName; see idsync-kmu /?");
      a.positional.insert(a.positional.begin() + 1, arg.substr(3));
    } else if (a.command.empty() && arg[0] != '-' && arg[0] != '/') {
      a.command = arg;
    } else if ((arg.size() > 1 && arg[0] == '-' && arg != "-") || (arg.size() == 2 && arg[0] == '/')) {
      return Fail(ErrorCode::kInvalidArgument, fmt::format("unknown option '{}'; see idsync-kmu /?", arg));
    } else {
      a.positional.push_back(arg);
      // export FILE USER PASSWORD: wipe a typed password from the process list.
      if (a.command == "export" && a.positional.size() == 3 && arg != "*" && arg != "-")
        std::memset(argv[i], 'x', std::strlen(argv[i]));
    }
  }
  return a;
}

constexpr std::string_view kNoTty = "give the password as - to read it from standard input";

int Export(const Args& a, const ServerHome& home, Store& store) {
  if (a.positional.empty() || a.positional.size() > 3)
    return ReportError({ErrorCode::kInvalidArgument, "export needs FileName [UserName {Password | *}]"});
  std::string user = a.positional.size() > 1 ? a.positional[1] : "";
  if (user.empty()) {
    auto account = RequireServiceAccount(store);
    if (!account) return ReportError(account.error());
    user = account->domain.empty() ? account->name : account->domain + "\\" + account->name;
  }
  SecureString password;
  std::string given = a.positional.size() > 2 ? a.positional[2] : "*";
  if (given == "-") {
    password = ReadSecretLine(std::cin);
  } else if (given == "*") {
    auto typed = PromptHidden(fmt::format("Password for {}: ", user), kNoTty);
    if (!typed) return ReportError(typed.error());
    password = SecureString(std::move(*typed));
  } else {
    password = SecureString(given);
  }
  auto result = ExportKeySet(home, store, user, password, a.positional[0]);
  if (!result) return ReportError(result.error());
  if (a.json) {
    std::puts(nlohmann::json{{"file", a.positional[0]}, {"key_set", result->set_id},
                             {"active_version", result->active_version}, {"account", result->account}}
                  .dump()
                  .c_str());
  } else {
    std::printf("key set %s (active version %u) written to %s, sealed for %s; keep it safe and off this server\n",
                result->set_id.c_str(), result->active_version, a.positional[0].c_str(), result->account.c_str());
  }
  return 0;
}

int ListFile(const Args& a) {
  auto bytes = ReadKeyFileBytes(a.positional[0]);
  if (!bytes) return ReportError(bytes.error());
  auto info = ReadKeyFileInfo(*bytes);
  if (!info) return ReportError(Error{info.error().code, fmt::format("key file {}: {}", a.positional[0], info.error().message)});
  if (a.json) {
    std::puts(nlohmann::json{{"file", a.positional[0]}, {"format", info->format_version}, {"key_set", info->set_id},
                             {"account", info->account}, {"created_at", info->created_at}}
                  .dump()
                  .c_str());
  } else {
    std::printf("key file %s: format %d, key set %s, sealed for %s at %s\n", a.positional[0].c_str(),
                info->format_version, info->set_id.c_str(), info->account.c_str(), info->created_at.c_str());
  }
  return 0;
}

int List(const Args& a, const ServerHome& home, Store& store) {
  auto listing = ListKeySet(home, store);
  if (!listing) return ReportError(listing.error());
  if (a.json) {
    nlohmann::json versions = nlohmann::json::array();
    for (const auto& v : listing->versions)
      versions.push_back({{"version", v.version}, {"created_at", v.created_at},
                          {"active", v.version == listing->active_version}, {"recorded", v.recorded}});
    std::puts(nlohmann::json{{"key_set", listing->set_id}, {"active_version", listing->active_version},
                             {"versions", versions}, {"secrets", listing->secrets}}
                  .dump()
                  .c_str());
    return 0;
  }
  std::printf("key set %s, %lld stored secrets\n", listing->set_id.c_str(), static_cast<long long>(listing->secrets));
  for (const auto& v : listing->versions)
    std::printf("  version %u  created %s%s%s\n", v.version, v.created_at.c_str(),
                v.version == listing->active_version ? "  active" : "", v.recorded ? "" : "  (not in the database)");
  return 0;
}

int Abandon(const Args& a, const ServerHome& home, Store& store) {
  if (!a.quiet) {
    std::fprintf(stderr,
                 "Abandoning the key set replaces it with a new one. Every management agent secret stored in the "
                 "database is deleted and must be entered again (idsync secret set), and every key file exported "
                 "so far becomes useless: export a new one afterwards.\n");
    auto answer = PromptLine("Abandon the key set? Type 'abandon' to confirm: ", "use /q to skip the confirmation");
    if (!answer) return ReportError(answer.error());
    if (*answer != "abandon") {
      std::printf("nothing changed\n");
      return ExitCodeFor(ErrorCode::kInvalidArgument);
    }
  }
  auto result = AbandonKeySet(home, store);
  if (!result) return ReportError(result.error());
  if (a.json) {
    std::puts(nlohmann::json{{"old_key_set", result->old_set_id}, {"key_set", result->new_set_id},
                             {"dropped_secrets", result->dropped_secrets}}
                  .dump()
                  .c_str());
    return 0;
  }
  std::printf("key set %s replaced by %s\n", result->old_set_id.c_str(), result->new_set_id.c_str());
  for (const auto& s : result->dropped_secrets) std::printf("  enter again: %s\n", s.c_str());
  std::printf("export a new key file now: idsync-kmu export FILE\n");
  return 0;
}

}  // namespace

int KmuMain(int argc, char** argv) {
  auto args = Parse(argc, argv);
  if (!args) return ReportError(args.error());
  if (args->help || args->command.empty()) {
    std::fputs(kUsage, args->help ? stdout : stderr);
    return args->help ? 0 : ExitCodeFor(ErrorCode::kInvalidArgument);
  }
  const std::string& cmd = args->command;
  if (cmd != "export" && cmd != "list" && cmd != "rotate" && cmd != "abandon")
    return ReportError({ErrorCode::kInvalidArgument, fmt::format("unknown command '{}'; see idsync-kmu /?", cmd)});
  if (cmd == "list" && args->positional.size() == 1) return ListFile(*args);
  auto home = ReadHome(DefaultHomeDir(args->home));
  if (!home) return ReportError(home.error());
  auto store = Store::Open(home->database, {});
  if (!store) return ReportError(store.error());
  if (auto st = CheckSchemaVersion((*store)->schema_version(), (*store)->db().Location()); !st)
    return ReportError(st.error());
  if (cmd == "export") return Export(*args, *home, **store);
  if (cmd == "list") return List(*args, *home, **store);
  if (cmd == "abandon") return Abandon(*args, *home, **store);
  auto result = RotateKeySet(*home, **store);
  if (!result) return ReportError(result.error());
  if (args->json) {
    std::puts(nlohmann::json{{"active_version", result->new_version}, {"resealed", result->resealed}}.dump().c_str());
  } else {
    std::printf("key version %u is active; %lld secrets re-sealed; export a new key file now (older ones lack this "
                "version)\n",
                result->new_version, static_cast<long long>(result->resealed));
  }
  return 0;
}

}  // namespace idsync
