#include "store/postgres/pg_db.h"

#include <endian.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_sql.h"

namespace idsync {
namespace {

// Type oids (catalog/pg_type.h) of the columns read in binary form.
constexpr Oid kBool = 16, kBytea = 17, kChar = 18, kName = 19, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25,
              kOid = 26, kBpchar = 1042, kVarchar = 1043;

bool IsTextType(Oid t) { return t == kText || t == kVarchar || t == kBpchar || t == kName || t == kChar; }
bool IsBinaryReadable(Oid t) {
  return IsTextType(t) || t == kBool || t == kBytea || t == kInt8 || t == kInt4 || t == kInt2 || t == kOid;
}

// Arbitrary but fixed: the key of the advisory lock migrations take ("idsync").
constexpr int64_t kMigrationLockKey = 0x696473796e63;
// The key of the advisory lock every write transaction takes ("idsyncw").
constexpr int64_t kWriterLockKey = 0x696473796e6377;

// Statements queued in the pipeline before their results are collected even
// though nothing asked for them: bounds the memory of the queue and how far
// behind an error is reported.
constexpr int kMaxQueued = 1000;

// The most ids reserved at once for one table (see PgDb::ReserveId).
constexpr int64_t kMaxIdBlock = 4096;

// Statements with at least this many parameters are planned for each
// execution (see PgStatement::planned_each_time_).
constexpr int kPlannedEachTimeParams = 32;

// The most rows of parameters held for coalesced statements, and the most
// statements they are held for (see PgDb::Hold).
constexpr size_t kMaxHeldRows = 1000;
constexpr size_t kMaxHeldGroups = 32;

// A table this session has inserted at least this many rows into, and at
// least as many as the table held when it was last analyzed, is analyzed
// after the commit (see PgDb::AnalyzeGrown).
constexpr int64_t kAnalyzeMinRows = 1000;

// The array type of each parameter type a coalesced statement can take
// (0: none), and the size of its binary form (0: as long as the value).
Oid ArrayOf(Oid t) {
  switch (t) {
    case kInt8: return 1016;
    case kInt4: return 1007;
    case kInt2: return 1005;
    case kText: return 1009;
    case kVarchar: return 1015;
    case kBytea: return 1001;
    default: return 0;
  }
}

void PutBigEndian(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

int64_t ParseInt(std::string_view s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

class PgDb;

// One named prepared statement. Parameters are sent as text, except blobs
// (binary bytea). Results come whole (the store pages large scans), in
// binary form when every column has a type read here, else as text.
class PgStatement final : public Statement {
 public:
  // `id_table`: for an insert rewritten by InsertGivingId, the table whose
  // sequence gives its ids (the id is the last parameter).
  // `source`: the statement with `?` placeholders, for its coalesced form.
  PgStatement(PgDb& db, std::string name, std::string sql, std::string source, int params, std::string id_table)
      : db_(db), name_(std::move(name)), sql_(std::move(sql)), source_(std::move(source)),
        id_table_(std::move(id_table)), inserts_into_(InsertedTable(source_)),
        planned_each_time_(params >= kPlannedEachTimeParams), values_(params),
        formats_(params), set_(params) {}

  // Prepares on the current connection (again after a reconnection).
  Status EnsurePrepared();

  void BindInt(int i, int64_t v) override {
    if (!InRange(i)) return;
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    Set(i, std::string_view(buf, end - buf), 0);
  }
  void BindText(int i, std::string_view v) override {
    if (InRange(i)) Set(i, v, 0);
  }
  void BindBlob(int i, std::string_view v) override {
    if (InRange(i)) Set(i, v, 1);
  }
  void BindNull(int i) override {
    if (InRange(i)) set_[i - 1] = false;
  }

  Result<bool> StepAssumingInsert() override;
  Result<bool> Step() override {
    if (!result_ || done_) {
      if (id_table_.empty()) IDSYNC_TRY(Execute());
      else IDSYNC_TRY(InsertGivingId());
      row_ = 0;
    } else {
      ++row_;
    }
    ClearScratch();
    done_ = row_ >= PQntuples(result_.get());
    return !done_;
  }

  bool IsNull(int c) override { return !HasValue(c) || PQgetisnull(result_.get(), row_, c); }
  int64_t ColumnInt(int c) override {
    if (IsNull(c)) return 0;
    std::string_view v = Raw(c);
    Oid type = PQftype(result_.get(), c);
    if (type == kBool) return binary_ ? v[0] != 0 : v[0] == 't';
    if (!binary_ || IsTextType(type) || type == kBytea) return ParseInt(v);
    if (type == kInt8) {
      uint64_t n;
      std::memcpy(&n, v.data(), 8);
      return static_cast<int64_t>(be64toh(n));
    }
    if (type == kInt4 || type == kOid) {
      uint32_t n;
      std::memcpy(&n, v.data(), 4);
      return type == kOid ? be32toh(n) : static_cast<int32_t>(be32toh(n));
    }
    uint16_t n;
    std::memcpy(&n, v.data(), 2);
    return static_cast<int16_t>(be16toh(n));
  }
  std::string_view ColumnText(int c) override {
    if (IsNull(c)) return {};
    Oid type = PQftype(result_.get(), c);
    if (binary_ && !IsTextType(type) && type != kBytea) {
      // An integer or boolean read as text, as SQLite would give it.
      return Scratch(c) = type == kBool ? std::string(ColumnInt(c) ? "1" : "0") : std::to_string(ColumnInt(c));
    }
    if (!binary_ && type == kBytea) return ColumnBlob(c);
    return Raw(c);
  }
  std::string_view ColumnBlob(int c) override {
    if (IsNull(c)) return {};
    if (binary_ || PQftype(result_.get(), c) != kBytea) return Raw(c);
    // Text form of bytea: \x followed by hex digits.
    size_t n = 0;
    unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(Raw(c).data()), &n);
    std::string& out = Scratch(c);
    if (bytes) out.assign(reinterpret_cast<const char*>(bytes), n);
    PQfreemem(bytes);
    return out;
  }
  void Reset() override {
    result_.reset();
    done_ = false;
    std::fill(set_.begin(), set_.end(), false);
  }
  int64_t ChangedRows() override;
  // Inside a transaction the statement waits in the pipeline (see
  // PgDb::Queue); outside one, success must mean committed, so it runs now.
  Status Send() override;

  // Coalescing (see PgDb::Hold): whether sent executions may be joined into
  // one of the coalesced form, named rows_name(); the parameter whose
  // values must differ within one (1-based; 0: none).
  bool coalesces() const { return coalesce_; }
  // The table a coalescing statement writes (lower case).
  const std::string& table() const { return table_; }
  // Whether the rows this statement changes are counted against the rows
  // it is expected to change (the form StepAssumingInsert sends).
  bool counted() const { return counted_; }
  // An insert whose id is given as its last parameter (the rewritten forms
  // of pg_sql.h): that parameter (1-based); 0 for any other statement.
  int given_id_param() const { return !id_table_.empty() || counted_ ? params() : 0; }
  // An update by id (its key term is `id = ?`) that sets no column of a
  // unique index (nor does the table have a unique index on an expression
  // or with a predicate): it commutes with the insert of a row of another
  // id, which neither matches its condition nor conflicts differently.
  bool updates_by_id_keeping_unique() const { return updates_by_id_keeping_unique_; }
  // For `INSERT ... ON CONFLICT ... DO NOTHING RETURNING id`: the form sent
  // by StepAssumingInsert (pg_sql.h: InsertGivingIdIfNew) and its table.
  void SetAssumedForm(std::string sql, std::string table) {
    assumed_sql_ = std::move(sql);
    assumed_table_ = std::move(table);
  }
  const std::string& name() const { return name_; }
  // The table an insert writes (lower case); empty for other statements.
  const std::string& inserts_into() const { return inserts_into_; }
  const std::string& rows_name() const { return rows_name_; }
  int key() const { return key_; }
  int params() const { return static_cast<int>(values_.size()); }
  Oid param_type(int i) const { return param_types_[i]; }
  const std::string& value(int i) const { return values_[i]; }
  bool is_set(int i) const { return set_[i]; }
  int format(int i) const { return formats_[i]; }

 private:
  bool InRange(int i) const { return i >= 1 && i <= static_cast<int>(values_.size()); }
  void Set(int i, std::string_view v, int format) {
    values_[i - 1].assign(v.data(), v.size());
    formats_[i - 1] = format;
    set_[i - 1] = true;
  }
  bool HasValue(int c) const {
    return result_ && !done_ && c >= 0 && c < PQnfields(result_.get());
  }
  std::string_view Raw(int c) {
    return {PQgetvalue(result_.get(), row_, c), static_cast<size_t>(PQgetlength(result_.get(), row_, c))};
  }
  std::string& Scratch(int c) {
    if (scratch_.size() <= static_cast<size_t>(c)) scratch_.resize(c + 1);
    return scratch_[c];
  }
  void ClearScratch() {
    for (auto& s : scratch_) s.clear();
  }
  void PointAtValues();
  Status Queue();
  Status Execute();
  Status InsertGivingId();

  PgDb& db_;
  const std::string name_;
  const std::string sql_;  // with $n placeholders
  const std::string source_;  // with ? placeholders
  const std::string id_table_;
  const std::string inserts_into_;
  std::string assumed_sql_, assumed_table_;  // see SetAssumedForm
  PgStatement* assumed_ = nullptr;           // the statement of assumed_sql_, once prepared
  bool counted_ = false;
  bool coalesce_ = false;
  std::string table_;
  bool updates_by_id_keeping_unique_ = false;
  // A query that looks many keys up at once (an IN list of the store's
  // lookup chunks) is planned for each execution, for the table as it is
  // then. A plan cached while the table was small (the first batches of
  // an import into an empty table) scans the whole table for every chunk
  // and stays when the table has grown; planning costs a small part of
  // what a chunk's lookups cost.
  const bool planned_each_time_ = false;
  std::string rows_name_;
  int key_ = 0;
  std::vector<Oid> param_types_;
  uint64_t prepared_in_ = 0;  // the connection generation it was prepared in; 0: not yet
  bool binary_ = false;
  std::vector<std::string> values_;
  std::vector<int> formats_;
  std::vector<char> set_;  // false: NULL (unbound parameters are NULL, as in SQLite)
  std::vector<const char*> pointers_;  // per execution, kept to save allocations
  std::vector<int> lengths_;
  std::vector<std::string> scratch_;  // converted values of the current row
  PgResultPtr result_;
  int row_ = 0;
  bool done_ = false;
};

class PgDb final : public Db {
 public:
  PgDb(PgConnPtr conn, std::string location, DbOptions options)
      : conn_(std::move(conn)), location_(std::move(location)), options_(options) {}
  ~PgDb() override {
    cache_.clear();
    conn_.reset();
  }

  PGconn* conn() const { return conn_.get(); }
  uint64_t generation() const { return generation_; }
  int64_t changes() const { return changes_; }

  // Sends a statement whose result nobody reads into the pipeline (pipeline
  // mode of libpq: no wait for the server); its outcome is collected with
  // the next statement that is stepped, before Exec, Commit and Rollback,
  // or once kMaxQueued statements wait.
  // `expect`: the rows the statement must change for what was assumed of
  // it to hold (see AssumedInsertsHeld); negative: not counted.
  // `inserts_into`: the table an insert writes (see CountInserted), or empty.
  Status Queue(const char* name, int n, const char* const* values, const int* lengths, const int* formats,
               int64_t expect, const std::string& inserts_into) {
    if (PQpipelineStatus(conn()) == PQ_PIPELINE_OFF && !PQenterPipelineMode(conn()))
      return tl::unexpected(ErrorOf(nullptr, "statement"));
    if (!PQsendQueryPrepared(conn(), name, n, values, lengths, formats, 0)) {
      // Nothing was queued; what is queued already ends with a sync.
      Error e = ErrorOf(nullptr, "statement");
      (void)Drain();
      return tl::unexpected(e);
    }
    queued_.push_back({expect, inserts_into.empty() ? nullptr : &inserts_into});
    if (static_cast<int>(queued_.size()) >= kMaxQueued) return Drain();
    return {};
  }

  Result<bool> AssumedInsertsHeld() override {
    IDSYNC_TRY(Drain());
    return !assumption_failed_;
  }

  // Runs a prepared statement and returns its result, whatever its status.
  // With statements queued, it joins them in the pipeline (one round trip
  // for all); the first error among them is returned instead.
  // With `sql`, that text is planned for this execution alone (see
  // PgStatement::planned_each_time_) instead of running the statement
  // prepared as `name`.
  Result<PgResultPtr> ExecPrepared(const char* name, const char* sql, int n, const char* const* values,
                                   const int* lengths, const int* formats, int result_format) {
    IDSYNC_TRY(FlushHeld());
    if (queued_.empty()) {
      if (sql) return PgResultPtr(PQexecParams(conn(), sql, n, nullptr, values, lengths, formats, result_format));
      return PgResultPtr(PQexecPrepared(conn(), name, n, values, lengths, formats, result_format));
    }
    if (sql ? !PQsendQueryParams(conn(), sql, n, nullptr, values, lengths, formats, result_format)
            : !PQsendQueryPrepared(conn(), name, n, values, lengths, formats, result_format)) {
      Error e = ErrorOf(nullptr, "statement");
      (void)Drain();
      return tl::unexpected(e);
    }
    PgResultPtr last;
    IDSYNC_TRY(Sync(&last));
    return last;
  }

  // Collects the results of every queued statement and leaves pipeline
  // mode: the first error among them, if any.
  Status Drain() {
    IDSYNC_TRY(FlushHeld());
    if (PQpipelineStatus(conn()) == PQ_PIPELINE_OFF) return {};
    return Sync(nullptr);
  }

  // Holds a sent execution of a statement that coalesces instead of
  // queueing it. Held executions are kept in groups, one statement each,
  // in the order they are to be sent; a group goes to the server as one
  // execution of its statement's coalesced form (pg_sql.h: Coalesced), one
  // parameter array per parameter, when a statement that does not coalesce
  // is sent or any statement is run, before Exec, Commit and Rollback, or
  // once kMaxHeldRows (or kMaxHeldGroups) wait. The server then starts,
  // plans and ends one statement instead of one per row, and the table's
  // indexes are opened once. An execution joins its statement's last group
  // when no later group writes the same table: it then goes to the server
  // before those later groups' executions, which commute with it (other
  // tables; the store's tables have no triggers or foreign keys); otherwise
  // it starts a group at the end. A group of one execution is sent as it
  // is. An execution whose values the arrays cannot carry exactly (see
  // Fits) is sent on its own, after what is held; one that repeats the key
  // of an update in the group starts a new group.
  Status Hold(PgStatement& st);
  // Whether the arrays of a coalesced execution can carry the parameters
  // of `st`'s current execution exactly (see ArrayElement).
  bool Fits(const PgStatement& st) const;
  // Sends the held executions (see Hold) into the pipeline.
  Status FlushHeld();

  // An id from `table`'s sequence for an insert that gives it. Inside a
  // transaction ids are reserved in blocks (one round trip per block): the
  // first as large as the ids of the table this session's previous
  // transaction took (a sync's or import's batches take about as many each
  // time), then doubling, up to kMaxIdBlock; what a transaction leaves unused is never
  // handed out (a gap in the ids, as a rolled back insert leaves too).
  Result<int64_t> ReserveId(const std::string& table) {
    auto [at, first] = reserves_.try_emplace(table);
    IdReserve& r = at->second;
    if (first) {
      auto used = ids_used_before_.find(table);
      if (used != ids_used_before_.end()) r.block = std::clamp<int64_t>(used->second, 1, kMaxIdBlock);
    }
    if (r.next == r.ids.size()) {
      // The sequence is looked up once, not once per id (which costs the
      // server five times what nextval does).
      IDSYNC_ASSIGN(Statement * st, Prepare("WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(?, 'id')::regclass "
                                            "AS seq) SELECT nextval(seq) FROM s, generate_series(1, ?)"));
      const bool grow = InTransaction();
      st->BindText(1, table);
      st->BindInt(2, grow ? r.block : 1);
      r.ids.clear();
      r.next = 0;
      while (true) {
        IDSYNC_ASSIGN(bool row, st->Step());
        if (!row) break;
        r.ids.push_back(st->ColumnInt(0));
      }
      st->Reset();
      if (r.ids.empty()) return Fail(ErrorCode::kDatabase, fmt::format("database {}: no id for {}", location_, table));
      r.taken += static_cast<int64_t>(r.ids.size());
      if (grow) r.block = std::min(r.block * 2, kMaxIdBlock);
    }
    return r.ids[r.next++];
  }

  // A result of one row whose column `id` (int8, binary) holds `id`.
  PgResultPtr IdRow(int64_t id) const {
    PgResultPtr r(PQmakeEmptyPGresult(conn(), PGRES_TUPLES_OK));
    PGresAttDesc column{const_cast<char*>("id"), 0, 0, /*format=*/1, kInt8, 8, -1};
    uint64_t big_endian = htobe64(static_cast<uint64_t>(id));
    if (!r || !PQsetResultAttrs(r.get(), 1, &column) ||
        !PQsetvalue(r.get(), 0, 0, reinterpret_cast<char*>(&big_endian), 8))
      return nullptr;
    return r;
  }

  // Counts the rows an insert into `table` inserted (see AnalyzeGrown).
  void CountInserted(const std::string& table, const PGresult* r) {
    if (!std::string_view(PQcmdStatus(const_cast<PGresult*>(r))).starts_with("INSERT")) return;
    const int64_t rows = ParseInt(PQcmdTuples(const_cast<PGresult*>(r)));
    if (InTransaction()) inserted_now_[table] += rows;
    else growth_[table].inserted += rows;
  }

  // Analyzes, after a commit, each table this session has inserted at least
  // kAnalyzeMinRows rows into and at least as many rows as the table held
  // when last analyzed, so that the planner knows a table that grew (from
  // empty, or to twice its rows or more) while this session filled it. Autovacuum
  // analyzes after a pause of up to a minute (autovacuum_naptime), from a
  // sample of what the table held then: a sync into a new installation
  // would meanwhile plan its lookups for the table it began with. (Seen:
  // the join-key lookup of a full sync of 100,000 people, planned while
  // mv_keys held mostly groups' keys, scanned every person's key for each
  // chunk: 7.8 of the step's 21.6 s of statement time.) ANALYZE runs outside
  // the transaction and skips a table autovacuum is working on; its errors
  // change nothing (the planner keeps what it knew).
  void AnalyzeGrown() {
    for (const auto& [table, rows] : inserted_now_) growth_[table].inserted += rows;
    inserted_now_.clear();
    for (auto& [table, g] : growth_) {
      if (g.inserted < kAnalyzeMinRows) continue;
      if (!g.known) {
        g.rows = TableRows(table);
        g.known = true;
      }
      if (g.inserted < g.rows) continue;
      PgResultPtr(PQexec(conn(), fmt::format("ANALYZE (SKIP_LOCKED) {}", table).c_str()));
      g.rows = TableRows(table);
      g.inserted = 0;
    }
  }
  // The rows the server's statistics give `table` (0 when never analyzed).
  int64_t TableRows(const std::string& table) {
    const char* name = table.c_str();
    PgResultPtr r(PQexecParams(conn(), "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)", 1,
                               nullptr, &name, nullptr, nullptr, 0));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) return 0;
    return std::max<int64_t>(0, ParseInt(PQgetvalue(r.get(), 0, 0)));
  }

  void NoteChanges(const PGresult* r) {
    std::string_view command = PQcmdStatus(const_cast<PGresult*>(r));
    if (command.starts_with("INSERT") || command.starts_with("UPDATE") || command.starts_with("DELETE"))
      changes_ = ParseInt(PQcmdTuples(const_cast<PGresult*>(r)));
  }

  Result<Statement*> Prepare(std::string_view sql) override {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      int params = 0;
      // Only a table whose ids come from a sequence (an identity column)
      // can have its ids reserved.
      auto has_sequence = [&](const std::string& table) -> Result<bool> {
        IDSYNC_ASSIGN(Statement * has, Prepare("SELECT pg_get_serial_sequence(?, 'id') IS NOT NULL"));
        has->BindText(1, table);
        IDSYNC_ASSIGN(bool row, has->Step());
        bool yes = row && has->ColumnInt(0);
        has->Reset();
        return yes;
      };
      auto given_id = InsertGivingId(sql);
      if (given_id) {
        IDSYNC_ASSIGN(bool reservable, has_sequence(given_id->table));
        if (!reservable) given_id.reset();
      }
      // An insert that may conflict has a form for StepAssumingInsert,
      // with an id from the table's sequence too.
      auto if_new = InsertGivingIdIfNew(sql);
      if (if_new) {
        IDSYNC_ASSIGN(bool reservable, has_sequence(if_new->table));
        if (!reservable) if_new.reset();
      }
      std::string numbered = NumberPlaceholders(given_id ? given_id->sql : sql, &params);
      auto owned = std::make_unique<PgStatement>(*this, fmt::format("idsync_{}", cache_.size() + 1),
                                                 std::move(numbered), std::string(given_id ? given_id->sql : sql),
                                                 params, given_id ? given_id->table : "");
      if (if_new) owned->SetAssumedForm(std::move(if_new->sql), std::move(if_new->table));
      it = cache_.emplace(std::string(sql), std::move(owned)).first;
    }
    if (!InTransaction()) IDSYNC_TRY(EnsureConnected());
    auto prepared = it->second->EnsurePrepared();
    if (!prepared) return tl::unexpected(prepared.error());
    it->second->Reset();
    return it->second.get();
  }

  Status Exec(std::string_view sql) override {
    if (!InTransaction()) IDSYNC_TRY(EnsureConnected());
    return Run(TranslateDdl(sql), "statement");
  }

  Status BeginWrite() override {
    if (InTransaction()) return Fail(ErrorCode::kInternal, "nested transaction");
    assumption_failed_ = false;
    IDSYNC_TRY(EnsureConnected());
    // Write transactions take turns, as under SQLite's write lock: each
    // holds the installation's writer lock (a transaction-level advisory
    // lock, released by its commit or rollback) from its start. Runs of
    // different agents may overlap (run locks are per agent), and a batch
    // reads what it then writes: with row locks alone another run could
    // change a row between the two (an export confirming an object the
    // batch then writes back from its stale copy), or commit what the
    // batch's reads could not see yet (two syncs projecting one person).
    // A wait past lock_timeout (the busy timeout) fails with kBusy, as
    // SQLite's does. Sent in the same round trip as BEGIN. Fencing comes
    // from LockClusterRow. READ COMMITTED gives each statement a fresh
    // snapshot, so a read made after a lock wait sees what was committed.
    auto begun = Run(fmt::format("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({})",
                                 kWriterLockKey),
                     "begin");
    if (!begun && InTransaction()) PgResultPtr(PQexec(conn(), "ROLLBACK"));
    return begun;
  }
  Status Commit() override {
    // A queued statement that failed fails the commit with its own error;
    // the transaction is then rolled back by the caller.
    EndReserves();
    IDSYNC_TRY(Drain());
    assumption_failed_ = false;
    PgResultPtr r(PQexec(conn(), "COMMIT"));
    const bool committed = PQresultStatus(r.get()) == PGRES_COMMAND_OK &&
                           std::string_view(PQcmdStatus(r.get())) == "COMMIT";
    if (committed) AnalyzeGrown();
    inserted_now_.clear();
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      Error e = PgError(conn(), r.get(), "commit", location_);
      if (PQstatus(conn()) == CONNECTION_BAD)
        e.message += " (whether the transaction committed is unknown; the next run checks)";
      return tl::unexpected(e);
    }
    // COMMIT of a transaction that an error aborted answers ROLLBACK.
    if (std::string_view(PQcmdStatus(r.get())) == "ROLLBACK")
      return Fail(ErrorCode::kDatabase,
                  fmt::format("database {}: the transaction was rolled back after an earlier error", location_));
    return {};
  }
  void Rollback() override {
    EndReserves();
    DiscardHeld();  // never sent: nothing to undo
    (void)Drain();  // whatever failed is undone with the rest
    assumption_failed_ = false;
    inserted_now_.clear();
    if (InTransaction()) PgResultPtr(PQexec(conn(), "ROLLBACK"));
  }
  bool InTransaction() const override {
    auto s = PQtransactionStatus(conn());
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
  }
  Result<bool> TableExists(std::string_view name) override {
    IDSYNC_ASSIGN(Statement * st, Prepare("SELECT to_regclass(?) IS NOT NULL"));
    st->BindText(1, name);
    IDSYNC_ASSIGN(bool row, st->Step());
    bool exists = row && st->ColumnInt(0) != 0;
    st->Reset();
    return exists;
  }
  Status LockClusterRow() override {
    IDSYNC_ASSIGN(Statement * st, Prepare("SELECT 1 FROM cluster WHERE id = 1 FOR SHARE"));
    IDSYNC_TRY(st->Step());
    st->Reset();
    return {};
  }
  Status LockForMigration() override {
    return Run(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLockKey), "migration lock");
  }
  std::string_view Backend() const override { return "postgresql"; }
  const std::string& Location() const override { return location_; }

  Error ErrorOf(const PGresult* r, std::string_view what) const { return PgError(conn(), r, what, location_); }

 private:
  Status Run(const std::string& sql, std::string_view what) {
    IDSYNC_TRY(Drain());
    PgResultPtr r(PQexec(conn(), sql.c_str()));
    auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return tl::unexpected(ErrorOf(r.get(), what));
    return {};
  }

  // Reconnects a connection that broke (the server restarted, the network
  // was cut). Statements are prepared again on first use.
  Status EnsureConnected() {
    if (PQstatus(conn()) == CONNECTION_OK) return {};
    queued_.clear();
    DiscardHeld();
    PQreset(conn());
    if (PQstatus(conn()) != CONNECTION_OK)
      return Fail(ErrorCode::kDatabase, fmt::format("connection to {} lost and not re-established: {}", location_,
                                                    PQerrorMessage(conn())));
    ++generation_;
    return ApplySessionSettings(conn(), options_, location_);
  }

  // Sends a sync after the queued statements (and `*last`'s, already sent
  // when `last` is given) and reads every result up to it, then leaves
  // pipeline mode. After a failure the server skips the rest up to the
  // sync, so nothing after a failed statement is applied.
  Status Sync(PgResultPtr* last) {
    // What is known of the queued statements, in their order.
    std::vector<Queued> queued;
    queued.swap(queued_);
    const int commands = static_cast<int>(queued.size()) + (last ? 1 : 0);
    // Fails only when the connection is gone (and PQreset ends the pipeline).
    if (!PQpipelineSync(conn())) return tl::unexpected(ErrorOf(nullptr, "statement"));
    std::optional<Error> failed;
    for (int i = 0; i < commands; ++i) {
      PgResultPtr r(PQgetResult(conn()));
      if (!r) return tl::unexpected(failed.value_or(ErrorOf(nullptr, "statement")));  // connection lost
      auto status = PQresultStatus(r.get());
      if (status == PGRES_FATAL_ERROR) {
        if (!failed) failed = ErrorOf(r.get(), "statement");
      } else if (status != PGRES_PIPELINE_ABORTED) {  // skipped after a failure
        if (status == PGRES_COMMAND_OK) NoteChanges(r.get());
        if (status == PGRES_COMMAND_OK && i < static_cast<int>(queued.size())) {
          if (queued[i].inserts_into) CountInserted(*queued[i].inserts_into, r.get());
          if (queued[i].expect >= 0 && ParseInt(PQcmdTuples(r.get())) != queued[i].expect) assumption_failed_ = true;
        }
        if (last && i == commands - 1) *last = std::move(r);
      }
      while (PGresult* end = PQgetResult(conn())) PQclear(end);  // a command's results end with null
    }
    PgResultPtr sync(PQgetResult(conn()));
    if (PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC && !failed) failed = ErrorOf(sync.get(), "statement");
    if (!PQexitPipelineMode(conn()) && !failed) failed = ErrorOf(nullptr, "statement");
    if (failed) return tl::unexpected(*failed);
    return {};
  }

  PgConnPtr conn_;
  std::string location_;
  DbOptions options_;
  uint64_t generation_ = 1;
  int64_t changes_ = 0;  // rows changed by the last INSERT/UPDATE/DELETE
  // The statements in the pipeline whose results are not read yet: what
  // each must change (Queue's `expect`) and the table it inserts into.
  struct Queued {
    int64_t expect;
    const std::string* inserts_into;  // null: not an insert
  };
  std::vector<Queued> queued_;
  // Rows inserted per table by this transaction (applied to growth_ when it
  // commits) and, per table, what AnalyzeGrown knows of its growth.
  std::unordered_map<std::string, int64_t> inserted_now_;
  struct Growth {
    int64_t inserted = 0;  // rows this session inserted since the table was analyzed (or first written)
    int64_t rows = 0;      // the table's rows when it was analyzed
    bool known = false;    // whether `rows` was read
  };
  std::unordered_map<std::string, Growth> growth_;
  bool assumption_failed_ = false;  // see AssumedInsertsHeld
  struct IdReserve {
    std::vector<int64_t> ids;
    size_t next = 0;
    int64_t block = 1;
    int64_t taken = 0;  // ids reserved in this transaction
  };
  std::unordered_map<std::string, IdReserve> reserves_;  // per table, for this transaction
  // Per table, the ids the last transaction that took any took (the size of
  // the next transaction's first block).
  std::unordered_map<std::string, int64_t> ids_used_before_;
  void EndReserves() {
    for (const auto& [table, r] : reserves_)
      if (r.taken > 0) ids_used_before_[table] = r.taken - static_cast<int64_t>(r.ids.size() - r.next);
    reserves_.clear();
  }
  // The executions Hold keeps, by group: their statement, each one's
  // parameters, and an update's key values (in their binary form).
  struct HeldRow {
    std::vector<std::string> values;
    std::vector<char> set;
    std::vector<int> formats;
  };
  struct HeldGroup {
    PgStatement* st = nullptr;
    std::vector<HeldRow> rows;
    std::unordered_set<std::string> keys;
  };
  // Sends one group (see Hold).
  Status SendGroup(HeldGroup& group);
  void DiscardHeld() {
    for (HeldGroup& g : held_)
      for (HeldRow& r : g.rows) spare_rows_.push_back(std::move(r));
    held_.clear();
    held_count_ = 0;
  }
  std::vector<HeldGroup> held_;  // in the order they are sent
  size_t held_count_ = 0;        // executions held in all groups
  std::vector<HeldRow> spare_rows_;  // rows sent, kept for their memory
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<PgStatement>, SqlHash, std::equal_to<>> cache_;
};

Status PgStatement::EnsurePrepared() {
  if (prepared_in_ == db_.generation()) return {};
  IDSYNC_TRY(db_.Drain());  // preparing is not possible in pipeline mode
  PGconn* conn = db_.conn();
  PgResultPtr r(PQprepare(conn, name_.c_str(), sql_.c_str(), static_cast<int>(values_.size()), nullptr));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return tl::unexpected(db_.ErrorOf(r.get(), "prepare"));
  PgResultPtr desc(PQdescribePrepared(conn, name_.c_str()));
  if (PQresultStatus(desc.get()) != PGRES_COMMAND_OK) return tl::unexpected(db_.ErrorOf(desc.get(), "prepare"));
  binary_ = true;
  for (int c = 0; c < PQnfields(desc.get()); ++c) binary_ = binary_ && IsBinaryReadable(PQftype(desc.get(), c));
  // The coalesced form, when the statement has one and the arrays can carry
  // every parameter's type; without it (or if the server refuses it) every
  // execution is sent on its own.
  coalesce_ = false;
  param_types_.assign(values_.size(), 0);
  std::vector<Oid> arrays(values_.size());
  bool arrays_known = PQnparams(desc.get()) == static_cast<int>(values_.size());
  for (size_t i = 0; arrays_known && i < values_.size(); ++i) {
    param_types_[i] = PQparamtype(desc.get(), static_cast<int>(i));
    arrays[i] = ArrayOf(param_types_[i]);
    arrays_known = arrays[i] != 0;
  }
  auto form = arrays_known ? Coalesced(source_) : std::nullopt;
  if (form) {
    rows_name_ = name_ + "_rows";
    PgResultPtr rows(PQprepare(conn, rows_name_.c_str(), form->sql.c_str(), static_cast<int>(arrays.size()),
                               arrays.data()));
    coalesce_ = PQresultStatus(rows.get()) == PGRES_COMMAND_OK;
    key_ = form->key;
    table_ = form->table;
    updates_by_id_keeping_unique_ = false;
    if (coalesce_ && form->key_column == "id") {
      const char* table = form->table.c_str();
      PgResultPtr unique(PQexecParams(conn,
                                      "SELECT a.attname, i.indexprs IS NOT NULL OR i.indpred IS NOT NULL "
                                      "FROM pg_index i LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid "
                                      "AND a.attnum = ANY(i.indkey) AND a.attnum > 0 "
                                      "WHERE i.indrelid = $1::regclass AND i.indisunique",
                                      1, nullptr, &table, nullptr, nullptr, 0));
      if (PQresultStatus(unique.get()) == PGRES_TUPLES_OK) {
        bool keeps = true;
        for (int r = 0; r < PQntuples(unique.get()) && keeps; ++r) {
          if (std::string_view(PQgetvalue(unique.get(), r, 1)) == "t") keeps = false;
          std::string_view column = PQgetvalue(unique.get(), r, 0);
          for (const auto& set : form->set_columns) keeps = keeps && set != column;
        }
        updates_by_id_keeping_unique_ = keeps;
      }
    }
  }
  prepared_in_ = db_.generation();
  return {};
}

void PgStatement::PointAtValues() {
  const size_t n = values_.size();
  pointers_.resize(n);
  lengths_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    pointers_[i] = set_[i] ? values_[i].data() : nullptr;
    lengths_[i] = static_cast<int>(values_[i].size());
  }
}

Status PgStatement::Send() {
  // An insert giving its id reserves it in Step, and is sent from there.
  if (!id_table_.empty() || !db_.InTransaction() || prepared_in_ != db_.generation())
    return Step().map([](bool) {});
  done_ = true;
  return Queue();
}

Status PgStatement::Queue() {
  result_.reset();
  if (coalesce_ && db_.Fits(*this)) return db_.Hold(*this);
  IDSYNC_TRY(db_.FlushHeld());
  PointAtValues();
  return db_.Queue(name_.c_str(), static_cast<int>(values_.size()), pointers_.data(), lengths_.data(),
                   formats_.data(), counted_ ? 1 : -1, inserts_into_);
}

// Sends the assumed form (a given id, no RETURNING, its inserted rows
// counted) with this statement's parameters and the id reserved for it, and
// answers the row the insert gives if the row is new. Outside a transaction
// the answer must be exact: the statement runs as it is.
Result<bool> PgStatement::StepAssumingInsert() {
  if (assumed_sql_.empty() || !db_.InTransaction()) return Step();
  if (!assumed_) {
    IDSYNC_ASSIGN(Statement * prepared, db_.Prepare(assumed_sql_));
    assumed_ = static_cast<PgStatement*>(prepared);
    assumed_->counted_ = true;
  }
  PgStatement& form = *assumed_;
  IDSYNC_TRY(form.EnsurePrepared());
  for (size_t i = 0; i < values_.size(); ++i) {
    form.values_[i] = values_[i];
    form.formats_[i] = formats_[i];
    form.set_[i] = set_[i];
  }
  IDSYNC_ASSIGN(int64_t id, db_.ReserveId(assumed_table_));
  form.BindInt(static_cast<int>(form.values_.size()), id);
  auto sent = form.Queue();
  form.Reset();
  IDSYNC_TRY(sent);
  ClearScratch();
  row_ = 0;
  done_ = false;
  result_ = db_.IdRow(id);
  if (!result_) return Fail(ErrorCode::kDatabase, "out of memory");
  return true;
}

Status PgStatement::Execute() {
  result_.reset();
  IDSYNC_TRY(EnsurePrepared());
  PointAtValues();
  IDSYNC_ASSIGN(PgResultPtr r, db_.ExecPrepared(name_.c_str(), planned_each_time_ ? sql_.c_str() : nullptr,
                                                static_cast<int>(values_.size()), pointers_.data(),
                                                lengths_.data(), formats_.data(), binary_ ? 1 : 0));
  auto status = PQresultStatus(r.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return tl::unexpected(db_.ErrorOf(r.get(), "statement"));
  db_.NoteChanges(r.get());
  if (!inserts_into_.empty() && status == PGRES_COMMAND_OK) db_.CountInserted(inserts_into_, r.get());
  result_ = std::move(r);
  return {};
}

// Reserves the id, sends the insert like Send (at once outside a
// transaction) and answers the row RETURNING id would have given.
Status PgStatement::InsertGivingId() {
  IDSYNC_TRY(EnsurePrepared());
  IDSYNC_ASSIGN(int64_t id, db_.ReserveId(id_table_));
  BindInt(static_cast<int>(values_.size()), id);
  if (db_.InTransaction()) IDSYNC_TRY(Queue());
  else IDSYNC_TRY(Execute());
  result_ = db_.IdRow(id);
  if (!result_) return Fail(ErrorCode::kDatabase, "out of memory");
  return {};
}

int64_t PgStatement::ChangedRows() { return db_.changes(); }

// Parameter i of `st`'s current execution in the binary form of an element
// of its array: false when that would not say exactly what the execution's
// own parameter says (an integer that is not one, or out of the type's
// range; text with a NUL byte, which libpq would cut; a blob sent as text).
bool ArrayElement(const PgStatement& st, int i, std::string& out) {
  out.clear();
  const std::string& v = st.value(i);
  const Oid type = st.param_type(i);
  if (type == kInt8 || type == kInt4 || type == kInt2) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (st.format(i) != 0 || ec != std::errc() || end != v.data() + v.size()) return false;
    const int bytes = type == kInt8 ? 8 : type == kInt4 ? 4 : 2;
    if (bytes < 8 && (n < -(int64_t{1} << (8 * bytes - 1)) || n >= (int64_t{1} << (8 * bytes - 1)))) return false;
    PutBigEndian(out, static_cast<uint64_t>(n), bytes);
    return true;
  }
  if (type == kBytea) {
    if (st.format(i) != 1) return false;
  } else if (st.format(i) == 0 && std::memchr(v.data(), 0, v.size())) {
    return false;
  }
  out = v;
  return true;
}

bool PgDb::Fits(const PgStatement& st) const {
  std::string element;
  for (int i = 0; i < st.params(); ++i)
    if (st.is_set(i) && !ArrayElement(st, i, element)) return false;
  return true;
}

Status PgDb::Hold(PgStatement& st) {
  std::string key;
  if (st.key()) {
    const int i = st.key() - 1;
    if (st.is_set(i)) {
      ArrayElement(st, i, key);
      key.insert(0, "v");  // an integer key in its binary form: one value, one key
    } else {
      key = "n";
    }
  }
  // An insert's given id, in the form of an update's key.
  std::string id_key;
  if (const int id = st.given_id_param(); id && st.is_set(id - 1) && ArrayElement(st, id - 1, id_key))
    id_key.insert(0, "v");
  // The statement's last group, unless a later one writes the same table
  // (and is not an update that commutes with this insert).
  HeldGroup* group = nullptr;
  for (size_t g = held_.size(); g-- > 0;) {
    const HeldGroup& later = held_[g];
    if (later.st == &st) {
      group = &held_[g];
      break;
    }
    if (later.st->table() != st.table()) continue;
    if (!id_key.empty() && later.st->updates_by_id_keeping_unique() && !later.keys.count(id_key)) continue;
    break;
  }
  if (group && st.key() && group->keys.count(key)) group = nullptr;
  if (!group) {
    if (held_.size() >= kMaxHeldGroups) IDSYNC_TRY(FlushHeld());
    group = &held_.emplace_back();
    group->st = &st;
  }
  if (st.key()) group->keys.insert(std::move(key));
  if (spare_rows_.empty()) {
    group->rows.emplace_back();
  } else {
    group->rows.push_back(std::move(spare_rows_.back()));
    spare_rows_.pop_back();
  }
  HeldRow& row = group->rows.back();
  row.values.resize(st.params());
  row.set.resize(st.params());
  row.formats.resize(st.params());
  for (int i = 0; i < st.params(); ++i) {
    row.set[i] = st.is_set(i);
    row.formats[i] = st.format(i);
    if (row.set[i]) row.values[i] = st.value(i);
  }
  if (++held_count_ >= kMaxHeldRows) return FlushHeld();
  return {};
}

Status PgDb::FlushHeld() {
  if (held_.empty()) return {};
  // Taken out first: sending may drain the pipeline, which flushes again.
  std::vector<HeldGroup> groups;
  groups.swap(held_);
  held_count_ = 0;
  Status sent;
  for (HeldGroup& g : groups) {
    if (sent) sent = SendGroup(g);
    for (HeldRow& r : g.rows) spare_rows_.push_back(std::move(r));
  }
  return sent;
}

Status PgDb::SendGroup(HeldGroup& group) {
  PgStatement& st = *group.st;
  const size_t rows = group.rows.size();
  const int64_t expect = st.counted() ? static_cast<int64_t>(rows) : -1;
  const int n = st.params();
  std::vector<std::string> values(n);
  std::vector<const char*> pointers(n);
  std::vector<int> lengths(n), formats(n, 1);
  if (rows == 1) {
    // As it was executed.
    HeldRow& row = group.rows[0];
    for (int i = 0; i < n; ++i) {
      pointers[i] = row.set[i] ? row.values[i].data() : nullptr;
      lengths[i] = static_cast<int>(row.values[i].size());
    }
    return Queue(st.name().c_str(), n, pointers.data(), lengths.data(), row.formats.data(), expect,
                 st.inserts_into());
  }
  // One array per parameter (the binary form of array_recv: one dimension,
  // a null flag, the element type, the length and lower bound 1, then each
  // element's length, -1 for NULL, and bytes).
  for (int i = 0; i < n; ++i) {
    std::string& a = values[i];
    bool nulls = false;
    for (size_t r = 0; r < rows; ++r) nulls = nulls || !group.rows[r].set[i];
    PutBigEndian(a, 1, 4);
    PutBigEndian(a, nulls ? 1 : 0, 4);
    PutBigEndian(a, st.param_type(i), 4);
    PutBigEndian(a, rows, 4);
    PutBigEndian(a, 1, 4);
    for (size_t r = 0; r < rows; ++r) {
      HeldRow& row = group.rows[r];
      if (!row.set[i]) {
        PutBigEndian(a, static_cast<uint32_t>(-1), 4);
        continue;
      }
      // Fits was checked when the row was held: the same conversion again.
      const std::string& v = row.values[i];
      const Oid type = st.param_type(i);
      if (type == kInt8 || type == kInt4 || type == kInt2) {
        int64_t number = 0;
        std::from_chars(v.data(), v.data() + v.size(), number);
        const int bytes = type == kInt8 ? 8 : type == kInt4 ? 4 : 2;
        PutBigEndian(a, bytes, 4);
        PutBigEndian(a, static_cast<uint64_t>(number), bytes);
      } else {
        PutBigEndian(a, v.size(), 4);
        a += v;
      }
    }
    pointers[i] = a.data();
    lengths[i] = static_cast<int>(a.size());
  }
  return Queue(st.rows_name().c_str(), n, pointers.data(), lengths.data(), formats.data(), expect,
               st.inserts_into());
}

}  // namespace

Result<std::unique_ptr<Db>> OpenPostgres(const std::string& url, const DbOptions& options) {
  std::string location;
  IDSYNC_ASSIGN(PgConnPtr conn, ConnectPg(url, options, &location));
  return std::unique_ptr<Db>(std::make_unique<PgDb>(std::move(conn), std::move(location), options));
}

}  // namespace idsync
