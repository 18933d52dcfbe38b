// tests/support/fault_injection: kills the process with SIGKILL at the Nth
// "event": a database statement step, commit or raw statement, or a record
// written by an export session. Used by the crash-safety test to stop a run
// at an exact, reproducible point.
#pragma once

#include <cstdint>
#include <memory>

#include "connectors/connector.h"
#include "store/db.h"

namespace idsync {

// Events left before the kill; <= 0 disables. Process-wide.
void SetKillCountdown(int64_t events);
// Events counted since the last SetKillCountdown (to size a trial).
int64_t EventsSeen();

std::unique_ptr<Db> KillingDb(std::unique_ptr<Db> inner);
std::unique_ptr<Connector> KillingConnector(std::unique_ptr<Connector> inner);

}  // namespace idsync
