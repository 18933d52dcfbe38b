// The `idsync-activate` program: the seed tool's interface,
//   idsync-activate [FileName] [UserName {Password | *}] [/q]
// plus --check (run every check, change nothing) and --home.
#include <cstdio>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "ha/activate.h"
#include "ha/home.h"

namespace idsync {
namespace {

constexpr const char* kUsage = R"(idsync-activate: make this standby server the active idsync server.

usage: idsync-activate [FileName] [UserName {Password | *}] [/q]
       idsync-activate --check [FileName] [UserName {Password | *}]

  FileName        the installation's most recent key file (idsync-kmu export)
  UserName        the service account: Domain\UserName, \UserName or UserName
  Password        its password; * asks for it without echo, - reads it from
                  standard input (a password typed on the command line is
                  accepted but wiped from the process list at once; prefer *)
  /q, -q          quiet: no questions and no confirmation; results go to
                  stdout and stderr and the exit code tells what happened
  --check         run every check and change nothing
  --home DIR      this server's home (default $IDSYNC_HOME or /var/lib/idsync)
  /?, -h, --help  this help

Checks, in order, each with its own exit code (docs/operations.md): the
caller is root or the service's user; the database schema matches this
release (0x80230443); the key file opens with the credentials; it holds this
installation's key set; the credentials are the service account's; the
admins group is a domain group. Then, in one transaction, this server
becomes active at the next epoch; the old active server's writes are refused
from then on.
)";

// Overwrites a command-line argument in place so that the process list no
// longer shows it.
void Scrub(char* arg) { std::memset(arg, 'x', std::strlen(arg)); }

struct Args {
  std::vector<std::string> positional;
  bool quiet = false, check = false, help = false;
  std::string home;
};

Result<Args> Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "/q" || arg == "/Q" || arg == "-q" || arg == "--quiet") {
      a.quiet = true;
    } else if (arg == "/?" || arg == "-h" || arg == "--help") {
      a.help = true;
    } else if (arg == "--check") {
      a.check = true;
    } else if (arg == "--home" && i + 1 < argc) {
      a.home = argv[++i];
    } else if (arg.rfind("--home=", 0) == 0) {
      a.home = arg.substr(7);
    } else if ((arg.size() > 1 && arg[0] == '-' && arg != "-") || (arg.size() == 2 && arg[0] == '/')) {
      return Fail(ErrorCode::kInvalidArgument, fmt::format("unknown option '{}'; see idsync-activate /?", arg));
    } else {
      a.positional.push_back(arg);
      // The third positional argument is the password.
      if (a.positional.size() == 3 && arg != "*" && arg != "-") Scrub(argv[i]);
    }
  }
  if (a.positional.size() > 3)
    return Fail(ErrorCode::kInvalidArgument, "too many arguments; see idsync-activate /?");
  return a;
}

constexpr std::string_view kNoTty = "give the value on the command line (the password as - to read standard input)";

}  // namespace

int ActivateMain(int argc, char** argv) {
  auto args = Parse(argc, argv);
  if (!args) return ReportError(args.error());
  if (args->help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const bool quiet = args->quiet;
  ActivationRequest req;
  req.home_dir = DefaultHomeDir(args->home);
  req.os_user = CurrentOsUser();
  req.check_only = args->check;
  auto& pos = args->positional;
  // Refuse a caller without the rights before asking for anything.
  if (auto st = CheckActivationRights(req.home_dir); !st) return ReportError(st.error());

  auto ask = [&](size_t index, const std::string& prompt, bool hidden) -> Result<std::string> {
    if (index < pos.size() && !(hidden && pos[index] == "*")) {
      if (hidden && pos[index] == "-") return std::move(ReadSecretLine(std::cin).mutable_value());
      return pos[index];
    }
    if (quiet)
      return Fail(ErrorCode::kInvalidArgument,
                  index < pos.size() ? "quiet mode asks nothing: give the password, or - to read it from standard input"
                                     : "quiet mode asks nothing: give FileName, UserName and Password (or -); see "
                                       "idsync-activate /?");
    return hidden ? PromptHidden(prompt, kNoTty) : PromptLine(prompt, kNoTty);
  };
  auto file = ask(0, "Key file: ", false);
  if (!file) return ReportError(file.error());
  req.key_file = *file;
  auto user = ask(1, "Service account (Domain\\UserName): ", false);
  if (!user) return ReportError(user.error());
  req.user = *user;
  auto password = ask(2, fmt::format("Password for {}: ", req.user), true);
  if (!password) return ReportError(password.error());
  req.password = SecureString(std::move(*password));

  if (!quiet) {
    req.confirm = [&](const std::vector<std::string>& warnings) {
      for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
      auto answer = PromptLine("Make this server the active server now? [y/N] ", kNoTty);
      return answer && (*answer == "y" || *answer == "Y" || *answer == "yes");
    };
  }
  auto result = Activate(std::move(req));
  if (!result) return ReportError(result.error());
  for (const auto& c : result->checks) std::printf("ok  %-13s %s\n", c.name.c_str(), c.outcome.c_str());
  if (quiet || result->already_active || args->check)
    for (const auto& w : result->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (result->already_active) {
    std::printf("server %s is already the active server (epoch %lld); nothing changed\n", result->server.c_str(),
                static_cast<long long>(result->from_epoch));
    return 0;
  }
  if (args->check) {
    std::printf("every check passed; activating would make %s active at epoch %lld (now: %s at epoch %lld); "
                "nothing changed\n",
                result->server.c_str(), static_cast<long long>(result->from_epoch + 1),
                result->previous_server.empty() ? "no server" : result->previous_server.c_str(),
                static_cast<long long>(result->from_epoch));
    return 0;
  }
  if (result->cancelled) {
    std::printf("activation cancelled; nothing changed\n");
    return ExitCodeFor(ErrorCode::kInvalidArgument);
  }
  std::printf("server %s is now the active server at epoch %lld (was %s at epoch %lld); activation took %.2f s\n",
              result->server.c_str(), static_cast<long long>(result->to_epoch),
              result->previous_server.empty() ? "no server" : result->previous_server.c_str(),
              static_cast<long long>(result->from_epoch), result->seconds);
  return 0;
}

}  // namespace idsync
