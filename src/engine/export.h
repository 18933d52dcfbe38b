// engine/export: the Export step.
//
// Writes the MA's pending exports to its connected system and then records
// them as done. Crash safety, so that no change is lost or written twice:
// - change-record connectors (LDIF): pending exports are grouped into
//   numbered batches, each recorded in the database as a range of ids before
//   it is written; a batch is written, made durable by the connector, and
//   only then its rows are confirmed and the batch marked done in one
//   transaction. A batch left open by a crash is written again under the
//   same number, and the connector replaces its earlier partial output.
// - snapshot connectors (CSV): the whole file is computed from the connector
//   space and replaced atomically; the database is updated afterwards, so a
//   rerun after a crash writes the same file again.
// Only what was written is confirmed: each row is confirmed against the
// generation of its export state read with it (CsObject::export_gen), so a
// change a sync of another MA makes while the export runs stays pending.
// Nothing is exported when the pending deletions exceed the deletion threshold.
// Threads: the calling thread reads and confirms (it alone uses ctx.store);
// a writer thread started per batch (per snapshot) decodes the rows and
// calls the connector (engine/export_pipe.h). The connector is used by that
// thread only, and the writer is joined before RunExport returns.
#pragma once

#include <string>

#include "core/error.h"

namespace idsync {

struct RunContext;
class Connector;

Result<std::string> RunExport(RunContext& ctx, Connector& connector, int64_t batch_objects = 20000);

}  // namespace idsync
