// engine/import_pipeline: runs a connector's import on a reading thread of
// its own while the calling thread stages what it reads.
//
// The connector reads and parses its source, digests and builds records on
// the reading thread, as it would on one thread (a Connector stays
// single-threaded inside). What it hands its ImportSink crosses to the
// calling thread in source order, in batches of a few hundred items through a
// bounded queue, and the calling thread passes each item on to a
// StagingTarget, so the target sees exactly the calls, in exactly the order,
// a sequential import would make. When the target fails (the error limit, a
// failed write), the reading thread is told to stop: its next call into the
// sink fails, so the connector returns at its next record, and what it read
// ahead is dropped unseen. The reading thread is joined before
// RunImportPipeline returns, on every path.
//
// Thread-safety: a StagingTarget's "reading thread" functions are called on
// the reading thread while its "staging thread" functions run on the calling
// thread; the former may only read what does not change during the import.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "connectors/connector.h"
#include "core/error.h"

namespace idsync {

// A record as it crosses to the staging thread, with what the target's
// Prepare made of it on the reading thread.
struct PreparedRecord {
  ImportRecord record;
  std::string anchor;   // set by Prepare, or empty
  std::string encoded;  // set by Prepare (record.attrs may then be empty), or empty
};

class StagingTarget {
 public:
  virtual ~StagingTarget() = default;

  // ---- reading thread
  // ImportSink::DigestContext for the connector; empty: no digests.
  virtual std::string DigestContext() const = 0;
  // The object a record with this digest is unchanged for, or 0 when the
  // record must be built (ImportSink::OnUnchanged answers from this).
  virtual int64_t FindUnchanged(const RecordDigest& digest) const = 0;
  // Work on a record that needs nothing but the record and the
  // configuration, done before it crosses (normalizing, encoding).
  virtual void Prepare(PreparedRecord& prepared) const = 0;

  // ---- staging thread, in source order; a non-ok Status stops the import
  // and is what RunImportPipeline returns.
  virtual Status Stage(PreparedRecord&& prepared) = 0;
  // A record FindUnchanged matched with object `id`.
  virtual Status StageUnchanged(int64_t id, std::string_view location) = 0;
  // A record the connector could not read (ImportSink::OnRecordError).
  virtual Status RecordError(const std::string& location, const std::string& message) = 0;
};

// Sixteen batches of 512 (about 8 MiB of records at the benchmark's size)
// let the staging thread go on while the reader is descheduled for a while.
struct PipelineOptions {
  size_t batch_items = 512;   // items per handover
  size_t queue_batches = 16;  // batches read ahead at most
};

// Runs `read` (a connector's FullImport or DeltaImport on the sink it is
// given) on a new thread and stages its records into `target` on this one.
// Returns the target's first failure, else what `read` returned (after every
// record it passed was staged).
Status RunImportPipeline(const std::function<Status(ImportSink&)>& read, StagingTarget& target,
                         PipelineOptions options = {});

}  // namespace idsync
