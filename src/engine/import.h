// engine/import: Full Import and Delta Import steps.
//
// Import stages what a connector reads into the MA's connector space and marks
// each changed object pending import; nothing reaches the metaverse until a
// sync step. Records are applied in batches, each batch one transaction, so a
// run killed at any point leaves every object either staged or untouched; the
// next import stages the rest. A full import also stages a delete for every
// object the source no longer has, unless that exceeds the deletion threshold.
// The delta import of a source without a change log reads it whole like a
// full import, but takes a record whose digest is stored with an object (the
// record that object was staged from) as unchanged; a full import compares
// every record.
#pragma once

#include <string>

#include "core/error.h"

namespace idsync {

struct RunContext;
class Connector;

// Both return the step's status string (run_status::...), or an Error for a
// failure that is not the objects' fault (database, fencing).
Result<std::string> RunFullImport(RunContext& ctx, Connector& connector);
Result<std::string> RunDeltaImport(RunContext& ctx, Connector& connector);

// Whether `deletes` out of `total` objects exceeds the MA's threshold.
bool ExceedsDeletionThreshold(const RunContext& ctx, int64_t deletes, int64_t total);

}  // namespace idsync
