// store/store: idsync's shared database, in the engine's terms.
//
// A Store wraps one Db connection and offers the operations the engine,
// the CLI and (later) the service need: configuration documents, connector
// space and metaverse objects, run history, run locks and export batches.
// It is written once for every backend; only store/<backend>/ knows SQL
// dialect details. Writes happen inside WriteScope transactions; when the
// Store was opened for a server at an epoch (fencing), each WriteScope checks
// inside its transaction that the epoch is still current and fails with
// kFenced otherwise, so a deposed server can never commit.
// Thread-safety: a Store belongs to one thread (open one per thread).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/attributes.h"
#include "core/clock.h"
#include "core/error.h"
#include "store/db.h"

namespace idsync {

enum class LinkState : int { kNormalDisconnector = 0, kConnector = 1, kExplicitDisconnector = 2, kFilteredDisconnector = 3 };
enum class PendingImport : int { kNone = 0, kAdd = 1, kUpdate = 2, kDelete = 3 };
enum class PendingExport : int { kNone = 0, kAdd = 1, kUpdate = 2, kDelete = 3 };

std::string_view LinkStateName(LinkState s);
std::string_view PendingImportName(PendingImport p);
std::string_view PendingExportName(PendingExport p);

// A pending delete that still has an export DN is a withdrawn add: its MV
// object went while an export had the add in an open batch. The export
// drops it without writing anything, or, when it had written the add
// already, it becomes a real delete (Store::RecordOvertakenExports).
inline bool WithdrawnAdd(PendingExport pending, std::string_view export_dn) {
  return pending == PendingExport::kDelete && !export_dn.empty();
}

struct CsObject {
  int64_t id = 0;
  int64_t ma_id = 0;
  std::string anchor;
  std::string dn;
  std::string object_type;
  AttributeMap attrs;  // the connected system's state as last imported or exported
  LinkState link = LinkState::kNormalDisconnector;
  std::optional<int64_t> mv_id;
  PendingImport pending_import = PendingImport::kNone;
  PendingExport pending_export = PendingExport::kNone;
  AttributeMap export_attrs;  // desired state when pending_export is add/update
  std::string export_dn;      // desired DN when it differs from dn (add, rename); see WithdrawnAdd

  // Bumped by every write that changes pending_export, export_attrs or
  // export_dn (UpdateCs). An export confirms a row only if this is still the
  // generation it read, so a change made while the export ran is not
  // recorded as exported (ConfirmExported).
  int64_t export_gen = 0;
};

struct MvObject {
  int64_t id = 0;
  std::string object_type;
  AttributeMap attrs;
  // attribute name -> MA name that contributed its current value
  NameMap<std::string> contributors;
};

struct CsQuery {
  int64_t ma_id = 0;
  int64_t after_id = 0;  // keyset pagination: ids greater than this
  int limit = 1000;
  bool pending_import_only = false;
  bool pending_export_only = false;
  bool disconnectors_only = false;
  // With pending_export_only: only ids up to this one (an export batch's
  // range); 0: no upper bound.
  int64_t through_id = 0;
};

struct RunRecord {
  int64_t id = 0;
  std::string ma, profile, status, server, started_at, ended_at;
  std::string counters_json = "{}";
};

struct RunErrorRecord {
  std::string object, location, error, message;
};

struct ConfigDocument {
  std::string name;
  std::string content;
};

struct StoreOptions {
  bool create_if_missing = false;
  bool read_only = false;
};

class Store {
 public:
  // Opens the database at `url` and checks its schema version. A database
  // with a newer schema opens, but every write then fails with
  // kSchemaMismatch (0x80230443); reads still work so status can be shown.
  static Result<std::unique_ptr<Store>> Open(std::string_view url, const StoreOptions& options);
  // For tests: wraps an already open Db (e.g. SQLite ":memory:") and migrates it.
  static Result<std::unique_ptr<Store>> Wrap(std::unique_ptr<Db> db);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Db& db() { return *db_; }
  int64_t schema_version() const { return schema_version_; }

  // Creates or upgrades the schema (kSchemaMismatch if the database is newer).
  Status Migrate();
  // For a new installation: begins a write transaction (unfenced) and
  // migrates inside it, so the schema and the first records commit together
  // or not at all; a failed install then leaves the database as it was
  // (on PostgreSQL there is no file to delete). Commit() or Rollback() ends
  // it; Rollback() restores schema_version().
  Status BeginWriteMigrating();

  // Fencing: from now on every write checks that `server` is active at `epoch`.
  void FenceAs(std::string server, int64_t epoch);

  // A write transaction: begin, optional fence check, commit or roll back.
  // Nested use is a bug (kInternal).
  Status BeginWrite();
  Status Commit();
  void Rollback();
  // A savepoint inside the open write transaction, so one object's work can
  // be undone without losing the rest of the batch.
  Status Savepoint();
  Status ReleaseSavepoint();
  Status RollbackToSavepoint();  // undoes to the savepoint and releases it
  // Runs fn inside one write transaction; commits if fn succeeds.
  Status WithWrite(const std::function<Status()>& fn);

  // ---- meta and configuration (store_config.cc)
  Result<std::optional<std::string>> GetMeta(std::string_view key);
  Status SetMeta(std::string_view key, std::string_view value);  // REQUIRES: write txn
  Result<std::vector<ConfigDocument>> LoadConfig();
  Status ReplaceConfig(const std::vector<ConfigDocument>& docs);  // REQUIRES: write txn
  Result<int64_t> EnsureManagementAgent(std::string_view name);   // REQUIRES: write txn
  Result<std::optional<int64_t>> FindManagementAgent(std::string_view name);
  // The name of an MA id; the id as text when it is unknown.
  Result<std::string> ManagementAgentName(int64_t id);

  // ---- installation (store_config.cc)
  // The service account, a role group, a server, the active server: what
  // setup records. REQUIRES: write txn.
  Status SetServiceAccount(std::string_view domain, std::string_view user, std::string_view password_hash);
  Status SetRoleGroup(std::string_view role, std::string_view scope, std::string_view name);
  Status RegisterServer(std::string_view name, std::string_view home);
  Status SetActiveServer(std::string_view server, int64_t epoch);

  // ---- connector space (store_cs.cc)
  Result<std::optional<CsObject>> FindCsByAnchor(int64_t ma_id, std::string_view anchor);
  Result<std::optional<CsObject>> FindCsByDn(int64_t ma_id, std::string_view dn);
  Result<std::optional<CsObject>> GetCs(int64_t id);
  Result<std::vector<CsObject>> ListCs(const CsQuery& query);
  // An object as an export reads it: what it needs to confirm the row and
  // to write it, with both attribute maps still in their stored encoding
  // (core/attributes.h; empty for NULL), so that the export can decode them
  // on its writer thread.
  struct EncodedCsObject {
    int64_t id = 0;
    std::string anchor, dn, object_type;
    std::string attrs, export_attrs;
    std::string export_dn;
    PendingExport pending_export = PendingExport::kNone;
    int64_t export_gen = 0;
  };
  // ListCs without decoding attributes (same query, same order).
  Result<std::vector<EncodedCsObject>> ListCsEncoded(const CsQuery& query);
  Result<std::vector<CsObject>> ListCsByMv(int64_t mv_id);
  // The metaverse link of the object with this anchor (or DN), without
  // reading the object: nullopt when there is no such object or no link.
  Result<std::optional<int64_t>> FindMvIdByAnchor(int64_t ma_id, std::string_view anchor);
  Result<std::optional<int64_t>> FindMvIdByDn(int64_t ma_id, std::string_view dn);
  // How the connector of an MV object in an MA is named there (for
  // translating references), without reading its attributes.
  struct ConnectorName {
    std::string anchor;
    std::string dn;  // the DN it has, or will have after its pending export
  };
  Result<std::optional<ConnectorName>> FindConnectorName(int64_t mv_id, int64_t ma_id);
  // The same lookups for many keys at once (a group's members), a few
  // statements instead of one per key. Keys without an answer are absent
  // from the map; repeated keys are allowed.
  Result<std::map<std::string, int64_t>> FindMvIdsByAnchors(int64_t ma_id, const std::vector<std::string>& anchors);
  Result<std::map<int64_t, ConnectorName>> FindConnectorNames(const std::vector<int64_t>& mv_ids, int64_t ma_id);
  // What the sync reads ahead for a batch of objects (store_cs.cc): the
  // connectors of many MV objects, each list in id order as ListCsByMv
  // gives it; every requested id has an entry (empty without connectors).
  // The objects in `undecoded` (ascending ids; the caller holds them) come
  // without their attribute maps (attrs and export_attrs empty).
  Result<std::unordered_map<int64_t, std::vector<CsObject>>> ListCsByMvs(const std::vector<int64_t>& mv_ids,
                                                                         const std::vector<int64_t>& undecoded = {});
  // FindConnectorNames, with the id of the object that answers for each MV
  // object (the lowest id when several would).
  struct NamedConnector {
    int64_t cs_id = 0;
    ConnectorName name;
  };
  Result<std::map<int64_t, NamedConnector>> FindNamedConnectors(const std::vector<int64_t>& mv_ids, int64_t ma_id);
  // The connectors in MAs `ma_ids` of many MV objects, without their
  // attributes: for each, its MV id and MA, its anchor there, its name for
  // references (the DN it has, or export_dn when set), its link and pending
  // export. What both resolving references to these MV objects (anchor ->
  // MV id) and translating references to them (MV id -> name) need, in one
  // index walk per MV object; connectors of other MAs are passed over on
  // the index. Rows in no particular order. REQUIRES: no id repeated in
  // `mv_ids` (a repeat in another chunk of the list reads its rows twice).
  struct MvConnectorName {
    int64_t mv_id = 0;
    int64_t ma_id = 0;
    int64_t cs_id = 0;
    ConnectorName name;  // its anchor, and its name for references
    LinkState link = LinkState::kNormalDisconnector;
    PendingExport pending_export = PendingExport::kNone;
  };
  Result<std::vector<MvConnectorName>> ListMvConnectorNames(const std::vector<int64_t>& mv_ids,
                                                            const std::vector<int64_t>& ma_ids);
  // Inserts unless the MA already has an object with this anchor; returns
  // false (and inserts nothing) in that case. While AssumeProvisionedNew is
  // on, the answer may be an assumption (see below). REQUIRES: write txn.
  Result<bool> InsertCsIfNew(CsObject& object);
  // Provisioning without waiting for the database: while on, InsertCsIfNew
  // may answer true (with the id the object gets if it is new) before the
  // database has said whether the anchor was free, where the backend can
  // send the insert without waiting (Db::StepAssumingInsert; on SQLite the
  // answer stays exact). Before the transaction commits,
  // ProvisionedInsertsHeld tells whether every insert answered so did
  // insert: if one did not, the transaction holds work done for an object
  // that does not exist, and the caller must roll it back and redo it with
  // the assumption off. Off by default; not ended by a transaction's end.
  void AssumeProvisionedNew(bool on) { assume_new_ = on && !never_assume_; }
  Result<bool> ProvisionedInsertsHeld() { return db_->AssumedInsertsHeld(); }
  // For tests: every answer of InsertCsIfNew exact from now on, as without
  // AssumeProvisionedNew (the reference a test compares with).
  void NeverAssumeProvisionedNewForTesting() { never_assume_ = true; }
  // Sets object.id. REQUIRES: write txn.
  Status InsertCs(CsObject& object);
  // Also forgets the object's import digest. REQUIRES: write txn.
  Status UpdateCs(const CsObject& object);
  // What an import compares a record with, read without decoding the
  // attributes: `attrs` is the stored encoding (core/attributes.h).
  // `digest`: the digest of the source record the object's state was last
  // staged from, empty when something else wrote it since (an update by
  // sync, an export confirmed, a staged deletion).
  struct ImportedState {
    int64_t id = 0;
    std::string dn, object_type, attrs, digest;
    PendingImport pending_import = PendingImport::kNone;
  };
  Result<std::optional<ImportedState>> FindImportedState(int64_t ma_id, std::string_view anchor);
  // The imported states of the objects of an MA with these anchors, by
  // anchor (absent anchors have no entry): FindImportedState for many
  // anchors in a few statements.
  Result<std::unordered_map<std::string, ImportedState>> FindImportedStates(
      int64_t ma_id, const std::vector<std::string_view>& anchors);
  // A new object an import stages: `attrs` encoded, `digest` empty for none.
  struct NewImport {
    int64_t ma_id = 0;
    std::string_view anchor, dn, object_type, attrs, digest;
    PendingImport pending_import = PendingImport::kAdd;
  };
  // Inserts it as a normal disconnector with nothing to export; returns its
  // id. REQUIRES: write txn.
  Result<int64_t> InsertImported(const NewImport& object);
  // Stages a changed import, with its digest (empty: none). REQUIRES: write txn.
  Status UpdateImported(const ImportedState& state);
  // Records the digest of the source record an unchanged object matches.
  // REQUIRES: write txn.
  Status SetImportDigest(int64_t id, std::string_view digest);
  // Calls `fn` with every import digest of an MA and its object's id, read
  // from their own index alone, in id order.
  Status ForEachImportDigest(int64_t ma_id, const std::function<void(std::string_view digest, int64_t id)>& fn);
  // The pending flags of an object, without reading the object.
  struct CsState {
    int64_t id = 0;
    PendingImport pending_import = PendingImport::kNone;
    PendingExport pending_export = PendingExport::kNone;
  };
  // Every object id of an MA, read from the anchor index alone (no table
  // pages), in no particular order.
  Result<std::vector<int64_t>> ListCsIds(int64_t ma_id);
  Result<std::optional<CsState>> GetCsState(int64_t id);
  // Also forgets the object's import digest. REQUIRES: write txn.
  Status SetPendingImport(int64_t id, PendingImport pending);
  // Writes only the link, MV id and pending import of an object (what a
  // sync changes most often). REQUIRES: write txn.
  Status UpdateCsLink(const CsObject& object);
  // One pending export the connector wrote, as the export read it. Kept
  // small: a snapshot export holds one per pending export of the MA.
  struct ExportedRow {
    int64_t id = 0;
    int64_t export_gen = 0;  // the generation read with the row
    PendingExport pending = PendingExport::kNone;
    bool moves = false;        // confirming changes its DN or anchor
    bool dn_anchored = false;  // its anchor is its DN (follows a new DN)
    // Batch exports of adds and updates: what was written (encoded
    // attributes, DN), for RecordOvertakenExports.
    bool has_written = false;
    std::string written_attrs;
    std::string written_dn;
  };
  // Records exports the connector wrote as done (consecutive rows of one
  // generation a list of them per statement, each checked as its own): the
  // exported state becomes the known state and deleted objects go. A row
  // whose export_gen is no longer the one read (a sync changed its desired
  // state since) is left pending, to be exported with its new state later.
  // Returns how many rows were confirmed. REQUIRES: write txn.
  Result<int64_t> ConfirmExported(const std::vector<ExportedRow>& rows);
  // After ConfirmExported, for the rows of MA `ma_id` that carry what was
  // written and that a sync changed since the export read them (left
  // pending): the connected system holds what was written, so that becomes
  // the known state; an add still pending becomes an update (adding the
  // object again would fail there) and a withdrawn add a real delete.
  // REQUIRES: write txn.
  Status RecordOvertakenExports(int64_t ma_id, const std::vector<ExportedRow>& rows);
  Status DeleteCs(int64_t id);              // REQUIRES: write txn
  Result<int64_t> CountCs(int64_t ma_id);
  Result<int64_t> CountPendingExports(int64_t ma_id);
  Result<int64_t> CountPendingExportDeletes(int64_t ma_id);

  // ---- metaverse (store_mv.cc)
  Result<std::optional<MvObject>> GetMv(int64_t id);
  Status InsertMv(MvObject& object);        // sets object.id; REQUIRES: write txn
  Status UpdateMv(const MvObject& object);  // REQUIRES: write txn
  Status DeleteMv(int64_t id);              // also drops its keys; REQUIRES: write txn
  // Index of values of join attributes: replaces the keys of one object.
  // `is_new`: the object has no keys yet (skips removing old ones).
  Status SetMvKeys(int64_t mv_id, const std::vector<std::pair<std::string, std::string>>& keys,
                   bool is_new = false);
  Result<std::vector<int64_t>> FindMvByKey(std::string_view attr, std::string_view value);
  // What the sync reads ahead for a batch: GetMv for many ids (absent ids
  // have no entry), and FindMvByKey for many values of one attribute
  // (value -> ids in ascending order; values without objects have no entry).
  Result<std::unordered_map<int64_t, MvObject>> GetMvs(const std::vector<int64_t>& ids);
  Result<std::unordered_map<std::string, std::vector<int64_t>>> FindMvIdsByKeys(
      std::string_view attr, const std::vector<std::string>& values);
  // Reverse references: which MV objects point at which. SetMvRefs replaces
  // the targets of `from_id`; ListMvReferrers gives the objects pointing at
  // `to_id`. REQUIRES: write txn for SetMvRefs.
  Status SetMvRefs(int64_t from_id, const std::vector<int64_t>& to_ids, bool is_new = false);
  Result<std::vector<int64_t>> ListMvReferrers(int64_t to_id);
  // ListMvReferrers for many ids (what the sync reads ahead for a batch's
  // deleted objects): every requested id has an entry, in ascending order.
  Result<std::unordered_map<int64_t, std::vector<int64_t>>> ListMvReferrersOf(const std::vector<int64_t>& to_ids);
  // Changes the targets of `from_id` by the given differences.
  Status ChangeMvRefs(int64_t from_id, const std::vector<int64_t>& removed, const std::vector<int64_t>& added);
  // References that could not be resolved: CS object `cs_id` refers to
  // `value` (an anchor or DN in MA `ma_id`) that has no linked object yet.
  Status AddRefWait(int64_t ma_id, std::string_view value, int64_t cs_id);
  // Removes and returns the CS objects waiting for `value` in the MA.
  Result<std::vector<int64_t>> TakeRefWaits(int64_t ma_id, std::string_view value);
  Status ClearRefWaits(int64_t cs_id);
  Result<bool> HasRefWaits(int64_t ma_id);
  // Export references that could not be translated: MV object `from_id`
  // refers to `to_id`, which has no object in MA `ma_id` yet.
  Status AddExportWait(int64_t ma_id, int64_t to_id, int64_t from_id);
  Result<std::vector<int64_t>> TakeExportWaits(int64_t ma_id, int64_t to_id);
  Result<bool> HasExportWaits(int64_t ma_id);
  // Marks CS objects as needing sync. REQUIRES: write txn.
  Status MarkPendingSync(const std::vector<int64_t>& cs_ids);
  // Scans (or uses the key index when `attr` is indexed) for objects with the value.
  Result<std::vector<MvObject>> SearchMv(std::string_view attr, std::string_view value, int limit);

  // ---- servers, activation, keys, secrets, principals (store_ha.cc)
  // Everything here except ActivateServer is unfenced: standbys write their
  // own heartbeat. Writers REQUIRE a write txn.
  struct Cluster {
    std::string active_server;  // empty when no server is active
    int64_t epoch = 0;
  };
  Result<Cluster> GetCluster();
  struct ServerRecord {
    std::string name, home, host, version, api, role, state;
    std::string registered_at, started_at, stopped_at, heartbeat_at;
    int64_t pid = 0, epoch = 0, heartbeat_ms = 0, heartbeat_interval_ms = 0;
  };
  Result<std::vector<ServerRecord>> ListServers();
  Result<std::optional<ServerRecord>> GetServer(std::string_view name);
  // The service of a server started (state 'running'), beats, or stopped
  // cleanly (state 'stopped', stopped_at set, so its last beat is not taken
  // for a live one). `server` must be registered.
  Status RecordServiceStart(const ServerRecord& server);
  Status RecordHeartbeat(std::string_view server, std::string_view role, int64_t epoch, int64_t now_ms);
  Status RecordServiceStop(std::string_view server);
  Status AddServerEvent(std::string_view server, std::string_view event, std::string_view detail);
  struct ServerEvent {
    std::string server, at, event, detail;
  };
  Result<std::vector<ServerEvent>> ListServerEvents(std::string_view server, int limit);
  // Makes `server` active at expected_epoch + 1 and records who did it, as
  // long as the epoch is still `expected_epoch` (else kBusy: another
  // activation won). Returns the new epoch. REQUIRES: write txn (unfenced:
  // the caller is not active yet).
  struct ActivationRecord {
    std::string kind;  // "install" | "activate"
    std::string server, previous_server, account, os_user, at;
    int64_t from_epoch = 0, to_epoch = 0;
  };
  Result<int64_t> ActivateServer(const ActivationRecord& record);
  Result<std::vector<ActivationRecord>> ListActivations(int limit);

  struct ServiceAccount {
    std::string domain, name, password_hash;
  };
  Result<std::optional<ServiceAccount>> GetServiceAccount();
  struct RoleGroup {
    std::string role, scope, name;
  };
  Result<std::vector<RoleGroup>> ListRoleGroups();

  // The key set's id, active version and check values (never the keys).
  struct KeySetRecord {
    std::string set_id;
    uint32_t active_version = 0;
    std::map<uint32_t, std::string> checks;  // version -> check value
  };
  Result<std::optional<KeySetRecord>> GetKeySetRecord();
  // Replaces the record (and every check value) with `record`.
  Status SetKeySetRecord(const KeySetRecord& record);

  // Management agent secrets, sealed by the caller (crypto/secret.h).
  struct SecretRecord {
    std::string ma, name, sealed;
    uint32_t key_version = 0;
  };
  Status PutSecret(const SecretRecord& secret);
  Result<std::optional<SecretRecord>> GetSecret(std::string_view ma, std::string_view name);
  Result<std::vector<SecretRecord>> ListSecrets();
  Status DeleteSecret(std::string_view ma, std::string_view name);
  Status DeleteAllSecrets();

  // Principals: domain users and groups kept in the shared database.
  struct Principal {
    int64_t id = 0;
    std::string kind;  // "user" | "group"
    std::string domain, name;
  };
  Result<int64_t> AddPrincipal(std::string_view kind, std::string_view domain, std::string_view name);
  Result<std::optional<Principal>> FindPrincipal(std::string_view domain, std::string_view name);
  Result<std::vector<Principal>> ListPrincipals();
  Status RemovePrincipal(int64_t id);  // also its memberships
  Status AddMember(int64_t group_id, int64_t member_id);
  Status RemoveMember(int64_t group_id, int64_t member_id);
  Result<std::vector<Principal>> ListMembers(int64_t group_id);

  // ---- runs, locks, batches (store_runs.cc)
  Result<int64_t> StartRun(const RunRecord& run);  // REQUIRES: write txn
  Status FinishRun(int64_t id, std::string_view status, std::string_view counters_json);
  Status AddRunError(int64_t run_id, int64_t seq, const RunErrorRecord& error);
  Result<std::vector<RunRecord>> ListRuns(int limit);
  Result<std::optional<RunRecord>> GetRun(int64_t id);
  Result<std::vector<RunErrorRecord>> ListRunErrors(int64_t run_id);
  // Takes the MA's run lock; false when a live run of this server holds it.
  // A lock whose process is gone (same server, pid not alive) or that another
  // (since deposed) server holds is taken over, and its run marked stopped.
  // REQUIRES: a fenced write txn, so that the caller is the active server.
  Result<bool> AcquireRunLock(std::string_view ma, int64_t run_id, std::string_view server, int pid);
  Status ReleaseRunLock(std::string_view ma, int64_t run_id);
  // Export batches. A batch is the MA's pending exports with ids in
  // (after_id, last_id], recorded by that range alone (no row is written to
  // put it in the batch); the ids are its name towards the connector, which
  // recognises a batch it already wrote under the same number.
  struct ExportBatch {
    int64_t id = 0;
    int64_t after_id = 0;
    int64_t last_id = 0;
  };
  // The open (not completed) batch of an MA, if any.
  Result<std::optional<ExportBatch>> OpenExportBatch(int64_t ma_id);
  // A new batch of the next (up to) max_objects pending exports with ids
  // above after_id; REQUIRES: write txn. nullopt (and no batch) when there is
  // no such pending export.
  Result<std::optional<ExportBatch>> CreateExportBatch(int64_t ma_id, int64_t after_id, int64_t max_objects);
  Status CompleteExportBatch(int64_t batch_id);       // REQUIRES: write txn
  // Whether an open export batch of the MA covers the object `cs_id` (an
  // export may be writing it, or may have written it and not yet confirmed).
  Result<bool> InOpenExportBatch(int64_t ma_id, int64_t cs_id);

 private:
  explicit Store(std::unique_ptr<Db> db);
  Status CheckFence();
  Status CheckWritable() const;
  // Writes o's mv_id, and with `name` its ma_id, anchor and DN, each only
  // where the stored value differs (UpdateCs, UpdateCsLink).
  Status SetIndexedColumns(const CsObject& o, bool name);

  std::unique_ptr<Db> db_;
  int64_t schema_version_ = 0;
  std::optional<int64_t> version_before_migrating_;  // set inside BeginWriteMigrating's transaction
  std::optional<std::pair<std::string, int64_t>> fence_;
  bool assume_new_ = false;  // see AssumeProvisionedNew
  bool never_assume_ = false;
};


}  // namespace idsync
