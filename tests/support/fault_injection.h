// tests/support/fault_injection: kills the process with SIGKILL at the Nth
// "event": a database statement step, commit or raw statement, or a record
// written by an export session. Used by the crash-safety test to stop a run
// at an exact, reproducible point. Also a Db that runs a test's hook before
// chosen statements, to make them fail.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "connectors/connector.h"
#include "store/db.h"

namespace idsync {

// Events left before the kill; <= 0 disables. Process-wide.
void SetKillCountdown(int64_t events);
// Events counted since the last SetKillCountdown (to size a trial).
int64_t EventsSeen();

std::unique_ptr<Db> KillingDb(std::unique_ptr<Db> inner);
std::unique_ptr<Connector> KillingConnector(std::unique_ptr<Connector> inner);

// What a HookedDb does besides passing every call to its inner Db. A hook
// runs before the call; a non-ok Status is returned instead of making it.
struct DbHooks {
  // Which prepared statements get `before_step` and `before_send` (all
  // when null).
  std::function<bool(std::string_view sql)> wraps;
  std::function<Status()> before_step, before_send, before_exec, before_commit;  // null: none
  std::function<Status()> before_begin;  // before BeginWrite; null: none
};
std::unique_ptr<Db> HookedDb(std::unique_ptr<Db> inner, DbHooks hooks);

}  // namespace idsync
