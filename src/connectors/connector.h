// connectors/connector: the seam between idsync and a connected system.
//
// A Connector reads objects from a connected system (import) and writes the
// changes idsync computed back to it (export). The engine owns staging,
// diffing and crash safety; a connector only translates records. Object-level
// problems (a malformed CSV row, a bad LDIF record) are reported through
// ImportSink::OnError with a location and do not stop the import; only errors
// that make the whole source unusable (missing file) are returned as Status.
// Thread-safety: a Connector is used by one thread at a time, and calls its
// ImportSink only on the thread that called FullImport or DeltaImport. The
// engine runs imports on a reading thread of their own (engine/
// import_pipeline.h), so a connector must not touch the store or anything
// else the engine's thread uses.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/attributes.h"
#include "core/error.h"

namespace idsync {

// One attribute-level change inside a modify record.
struct AttributeChange {
  enum class Op { kAdd, kDelete, kReplace };
  Op op;
  std::string name;
  Values values;  // for kDelete, empty means "delete the whole attribute"
};

// A digest of everything an import record holds, taken by the source from
// the record's raw form before the record is built (16 bytes of BLAKE2b).
using RecordDigest = std::array<unsigned char, 16>;

// What an import produces for one object.
struct ImportRecord {
  enum class Kind {
    kFull,    // the object's complete current state (full import, LDIF add)
    kModify,  // attribute-level changes (LDIF changetype: modify)
    kRename,  // a new DN (LDIF modrdn/moddn); `new_dn` is set
    kDelete,  // the object is gone
  };
  Kind kind = Kind::kFull;
  std::string dn;            // DN or, for flat sources, empty
  std::string new_dn;        // kRename only
  std::string object_type;   // empty: the connector could not tell
  AttributeMap attrs;        // kFull: all attributes
  // kModify: the changes; kRename: the naming attribute values the rename
  // adds and (with deleteoldrdn) removes.
  std::vector<AttributeChange> changes;
  std::string location;      // "FILE:LINE" of the record, for messages
  // Set by a source that digests records (see ImportSink::DigestContext).
  std::optional<RecordDigest> digest;
};

// Where a connector's import goes. The engine's sink keeps what it is
// given (strings are copied, records moved) and stages it later, in the
// order of the calls; its calls return at once unless it is stopping.
class ImportSink {
 public:
  virtual ~ImportSink() = default;
  // Called once per good record, in source order. A non-ok Status aborts the
  // import: the connector returns it at once, reading nothing more (the
  // engine stops so on its error limit or on a failed write).
  virtual Status OnRecord(ImportRecord&& record) = 0;
  // A record that could not be read; `location` is "FILE:LINE". A non-ok
  // Status aborts the import, as in OnRecord.
  virtual Status OnRecordError(const std::string& location, const std::string& message) = 0;

  // Digests let a whole-state source skip building records the sink already
  // holds. A source that can digest its records' raw form asks for the
  // sink's context first: what, besides the record, decides what the sink
  // makes of it (its configuration). Empty: the sink takes no digests. A
  // digest covers the context, the source's own settings and the record, so
  // equal digests mean equal records staged the same way.
  virtual std::string DigestContext() const { return {}; }
  // Before building a record: true when the sink takes the record with this
  // digest as unchanged (the source then skips it; OnRecord is not called);
  // false: the source builds the record and passes it to OnRecord with
  // `digest` set. A non-ok Status aborts the import, as in OnRecord.
  virtual Result<bool> OnUnchanged(const RecordDigest& /*digest*/, std::string_view /*location*/) { return false; }
};

// One change for export, computed by the engine.
struct ExportChange {
  enum class Kind { kAdd, kModify, kRename, kDelete };
  Kind kind;
  std::string anchor;
  std::string dn;       // current DN (for kRename: the old one)
  std::string new_dn;   // kRename only
  std::string object_type;
  AttributeMap attrs;   // kAdd: all attributes; kModify: attributes after the change
  std::vector<AttributeChange> changes;  // kModify: the attribute-level changes
};

// Writes one batch of changes. Exports are idempotent per batch: the engine may
// call Begin() again with the same batch after a crash, and the connector must
// then produce the same result as if the first attempt had never happened.
class ExportSession {
 public:
  virtual ~ExportSession() = default;
  virtual Status Write(const ExportChange& change) = 0;
  // Makes the batch durable (fsync, rename). Nothing is visible before this.
  virtual Status Commit() = 0;
};

// For connectors whose export is a whole-state snapshot (CSV): the engine
// passes every object the connected system should hold after the export.
struct SnapshotObject {
  std::string anchor;
  std::string dn;
  std::string object_type;
  AttributeMap attrs;
};

class Connector {
 public:
  virtual ~Connector() = default;

  // Reads every object. Unsupported is never returned.
  virtual Status FullImport(ImportSink& sink) = 0;

  // Reads only changes. Returns kUnsupported when the connected system cannot
  // report changes; the engine then computes the delta from a full read.
  virtual Status DeltaImport(ImportSink& sink) = 0;

  // true: export is written as a whole snapshot (ExportSnapshot);
  // false: export is written as change records (BeginExport).
  virtual bool ExportsSnapshots() const = 0;

  // Change-record export. `batch_id` names the batch for idempotent retries.
  virtual Result<std::unique_ptr<ExportSession>> BeginExport(int64_t batch_id) = 0;

  // Snapshot export: `next` yields objects until it returns false. The file
  // (or table) is replaced atomically. When `next` returns an error (the
  // engine could not read the objects), the connector returns that error
  // and leaves the connected system as it was.
  using SnapshotSource = std::function<Result<bool>(SnapshotObject&)>;
  virtual Status ExportSnapshot(const SnapshotSource& next) = 0;
};

}  // namespace idsync
