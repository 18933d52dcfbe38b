// ha/home: a server's own state on its disk (everything else is in the
// shared database). The home folder (default /var/lib/idsync, or
// IDSYNC_HOME, or --home) holds server.toml: this server's name and the
// database it uses. Later the key set lives here too (mode 0600).
// Thread-safety: plain functions over files.
#pragma once

#include <string>

#include "core/error.h"

namespace idsync {

struct ServerHome {
  std::string dir;
  std::string server;    // this server's name in the shared database
  std::string database;  // database URL ("sqlite:/var/lib/idsync/idsync.db")
};

// --home if given, else $IDSYNC_HOME, else /var/lib/idsync.
std::string DefaultHomeDir(const std::string& flag);

// kNotFound when DIR holds no server.toml (not installed there).
Result<ServerHome> ReadHome(const std::string& dir);

// Creates DIR (mode 0700) if needed and writes server.toml atomically.
// kAlreadyExists when DIR already holds an installation and !overwrite.
Status WriteHome(const ServerHome& home, bool overwrite);

// The machine's host name, used as the default server name.
std::string HostName();

}  // namespace idsync
