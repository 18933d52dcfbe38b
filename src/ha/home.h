// ha/home: a server's own state on its disk (everything else is in the
// shared database). The home folder (default /var/lib/idsync, or
// IDSYNC_HOME, or --home; mode 0700) holds server.toml (this server's name,
// the database it uses, the service's settings) and keys/keyset.json, the
// key set (mode 0600; only on a server that was installed as active or
// activated).
// Thread-safety: plain functions over files.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"

namespace idsync {

struct ServerHome {
  std::string dir;
  std::string server;    // this server's name in the shared database
  std::string database;  // database URL ("sqlite:/var/lib/idsync/idsync.db")
  // [service] in server.toml: where idsyncd serves its API (loopback; port
  // 0 picks a free one and records it in the database) and how often it
  // heartbeats.
  std::string api_listen = "127.0.0.1:8095";
  int64_t heartbeat_interval_ms = 3000;
};

// kConfig when the [service] settings are out of range (the API must listen
// on loopback).
Status ValidateServiceSettings(const ServerHome& home);

// Where the home keeps the key set.
std::string KeySetPath(const ServerHome& home);

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
