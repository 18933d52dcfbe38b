// connectors/ldif/ldif_export: appends export batches to an LDIF file as
// change records, exactly once per batch even across crashes.
//
// Protocol: the sidecar file EXPORT.idsync-batch holds "<batch_id> <offset>",
// the export file's size before the batch's first byte. Beginning batch b:
//   - the sidecar names b: an earlier attempt at b may have left some or all
//     of its output; the file is truncated back to the offset and b is written
//     again;
//   - otherwise the sidecar is replaced (atomically, fsynced) with b and the
//     current size before anything is written.
// So however far an attempt got before a crash, running batch b again leaves
// exactly one copy of it. A new or empty file starts with "version: 1".
// Output is buffered and written at Commit() (or whenever the buffer passes
// 4 MiB); Commit() fsyncs. A session destroyed without Commit() truncates the
// file back to where the batch began. The file is flock()ed while a session
// is open: a second session on it fails with kBusy.
// Thread-safety: a session is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/connector_config.h"

namespace idsync {

// Opens (creating if needed) `export_path` for batch `batch_id`. `types`
// supply the objectClass written for adds that have none. Fails with kIo,
// kBusy, or kParse for a damaged sidecar (the message names it).
Result<std::unique_ptr<ExportSession>> BeginLdifExport(const std::string& export_path,
                                                       std::vector<ConnectorObjectType> types,
                                                       int64_t batch_id);

// The sidecar path for `export_path`.
std::string LdifBatchSidecarPath(const std::string& export_path);

}  // namespace idsync
