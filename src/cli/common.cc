#include "cli/common.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "ha/home.h"
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
  if (!read_only) IDSYNC_TRY(CheckSchemaVersion(store->schema_version(), store->db().Location()));
  return store;
}

std::string ServerName(const GlobalFlags& flags) {
  auto home = ReadHome(DefaultHomeDir(flags.home));
  return home ? home->server : HostName();
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
