// cli/common: what every idsync program shares: finding the database from
// --home/--db, printing errors the same way, a progress line on terminals.
// Diagnostics and progress go to stderr, results to stdout.
// Thread-safety: used from a program's main thread only.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "core/error.h"
#include "crypto/password.h"

namespace idsync {

class Store;

struct GlobalFlags {
  std::string home;  // --home; empty: $IDSYNC_HOME or /var/lib/idsync
  std::string db;    // --db; overrides the home's database
  bool json = false;
};

// Opens the installation's database named by --db or by the home's
// server.toml. For writing (!read_only) it also checks the schema version
// and that this server is the active one, and fences the store at its epoch.
Result<std::unique_ptr<Store>> OpenStore(const GlobalFlags& flags, bool read_only);

// This server's name: from the home when installed, else the host name.
std::string ServerName(const GlobalFlags& flags);

// The name of the effective OS user (its uid as text if it has no name).
std::string CurrentOsUser();

// One line of a secret from a stream (standard input, a password file),
// without its line ending (a trailing \r of a Windows file included).
SecureString ReadSecretLine(std::istream& in);

// Asks for a secret on the controlling terminal without echoing it; kIo
// when there is no terminal (say how to pass it otherwise in `no_tty_hint`).
Result<std::string> PromptHidden(const std::string& prompt, std::string_view no_tty_hint);
// Asks a question on the terminal and reads one line (echoed).
Result<std::string> PromptLine(const std::string& prompt, std::string_view no_tty_hint);

// Prints "idsync: 0x...: message" to stderr and returns the exit code.
int ReportError(const Error& e);

// True when stderr is a terminal that can redraw a line (TERM is not "dumb").
bool ProgressOnTerminal();

// Redraws one status line on a terminal; on other outputs, prints a plain
// line only when the step name changes.
class ProgressLine {
 public:
  explicit ProgressLine(std::string prefix);
  ~ProgressLine();
  void Update(std::string_view step, int64_t done);
  void Finish();

 private:
  std::string prefix_;
  std::string last_step_;
  bool tty_;
  bool drawn_ = false;
  int64_t last_ms_ = 0;
};

}  // namespace idsync
