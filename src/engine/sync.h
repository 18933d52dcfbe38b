// engine/sync: Full Synchronization and Delta Synchronization steps.
//
// Sync takes the MA's connector space objects (all of them, or those pending
// import) and, per object: applies the connector filter, joins or projects,
// flows attributes into the metaverse by precedence, and recomputes what
// every target MA should hold (export flows, provisioning, renames,
// deprovisioning), staging pending exports. Objects are processed in
// batches, one transaction each, with a savepoint per object, so an object
// error undoes only that object's work and a killed run leaves each object
// either synchronized or still pending.
#pragma once

#include <string>

#include "core/error.h"

namespace idsync {

struct RunContext;

Result<std::string> RunSync(RunContext& ctx, bool full);

}  // namespace idsync
