#include "cli/common.h"

#include <fcntl.h>
#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <istream>

#include <fmt/format.h>

#include "ha/home.h"
#include "ha/roles.h"
#include "store/schema.h"
#include "store/store.h"

namespace idsync {

Result<std::unique_ptr<Store>> OpenStore(const GlobalFlags& flags, bool read_only) {
  std::string url = flags.db;
  if (url.empty()) {
    IDSYNC_ASSIGN(ServerHome home, ReadHome(DefaultHomeDir(flags.home)));
    url = home.database;
  }
  IDSYNC_ASSIGN(auto store, Store::Open(url, StoreOptions{.read_only = read_only}));
  if (store->schema_version() == 0)
    return Fail(ErrorCode::kNotFound,
                fmt::format("database {} holds no idsync installation; create one with `idsync-setup install`",
                            url));
  // A command that may write refuses a schema it does not know before doing
  // anything; reading commands go on so administrators can still look.
  if (!read_only) {
    IDSYNC_TRY(CheckSchemaVersion(store->schema_version(), store->db().Location()));
    // Only the active server writes; every write transaction from here on
    // checks that it still is (a standby gets the activation guidance).
    IDSYNC_TRY(FenceAsActive(*store, ServerName(flags)));
  }
  return store;
}

std::string ServerName(const GlobalFlags& flags) {
  auto home = ReadHome(DefaultHomeDir(flags.home));
  return home ? home->server : HostName();
}

std::string CurrentOsUser() {
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
  return std::to_string(geteuid());
}

namespace {

// Reads one line from the terminal, with echo off when `hidden`.
Result<std::string> Prompt(const std::string& prompt, bool hidden, std::string_view no_tty_hint) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return Fail(ErrorCode::kIo, fmt::format("no terminal to ask on ({}); {}", std::strerror(errno), no_tty_hint));
  termios saved{};
  bool restore = false;
  if (hidden && tcgetattr(fd, &saved) == 0) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  if (restore) {
    tcsetattr(fd, TCSAFLUSH, &saved);
    (void)!::write(fd, "\n", 1);
  }
  ::close(fd);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

SecureString ReadSecretLine(std::istream& in) {
  SecureString secret;
  std::getline(in, secret.mutable_value());
  auto& v = secret.mutable_value();
  if (!v.empty() && v.back() == '\r') v.pop_back();
  return secret;
}

Result<std::string> PromptHidden(const std::string& prompt, std::string_view no_tty_hint) {
  return Prompt(prompt, true, no_tty_hint);
}

Result<std::string> PromptLine(const std::string& prompt, std::string_view no_tty_hint) {
  return Prompt(prompt, false, no_tty_hint);
}

int ReportError(const Error& e) {
  std::fprintf(stderr, "idsync: %s\n", FormatError(e).c_str());
  return ExitCodeFor(e.code);
}

bool ProgressOnTerminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) && !(term && std::strcmp(term, "dumb") == 0);
}

ProgressLine::ProgressLine(std::string prefix) : prefix_(std::move(prefix)), tty_(ProgressOnTerminal()) {}

ProgressLine::~ProgressLine() { Finish(); }

void ProgressLine::Update(std::string_view step, int64_t done) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch()).count();
  if (!tty_) {
    if (step != last_step_) std::fprintf(stderr, "%s %.*s...\n", prefix_.c_str(), int(step.size()), step.data());
    last_step_ = step;
    return;
  }
  if (step == last_step_ && now - last_ms_ < 100) return;
  last_step_ = step;
  last_ms_ = now;
  std::fprintf(stderr, "\r\033[K%s %.*s: %lld objects", prefix_.c_str(), int(step.size()), step.data(),
               static_cast<long long>(done));
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::Finish() {
  if (tty_ && drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

}  // namespace idsync
