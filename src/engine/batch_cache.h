// engine/batch_cache: what a sync batch read from the store ahead of its
// objects (internal to engine), kept equal to what the store would answer
// while the batch writes.
//
// The Synchronizer fills it at the start of each batch, inside the batch's
// transaction, and tells it of every write it makes (the only writer while
// the transaction is open). Each lookup answers "unknown" (the caller asks
// the store, and nothing is added from that answer), "none", or the value.
// What cannot be kept exactly true is erased instead of guessed. After a
// rollback (the whole batch or one object's savepoint) the owner clears it.
// Its tables are open-addressing tables kept across batches (Clear keeps
// their arrays): a batch fills and empties them again for every object, and
// node-based maps allocated and freed an entry each time.
// Thread-safety: one per Synchronizer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tsl/robin_map.h>
#include <tsl/robin_set.h>

#include "store/store.h"

namespace idsync {

class BatchCache {
 public:
  BatchCache() = default;
  BatchCache(const BatchCache&) = delete;
  BatchCache& operator=(const BatchCache&) = delete;

  void Clear();

  // ---- filled by the read-ahead
  // The MV ids with join key (attr, value) (both lower-cased, as the key
  // index holds them), ascending; empty: none.
  void PutKey(const std::string& attr, const std::string& value, std::vector<int64_t> ids);
  // An MV object and its connectors (ListCsByMv's order).
  void PutMv(MvObject mv, std::vector<CsObject> connectors);
  // The MV id linked to the object with `anchor` in MA `ma_id`; nullopt: no
  // such object or no link.
  void PutAnchor(int64_t ma_id, const std::string& anchor, std::optional<int64_t> mv_id);
  // Which connector names MV object `mv_id` in MA `ma_id`; nullopt: none.
  void PutName(int64_t mv_id, int64_t ma_id, std::optional<Store::NamedConnector> name);
  // The MV objects whose references name `to_id` (ListMvReferrers), ascending.
  void PutReferrers(int64_t to_id, std::vector<int64_t> from_ids);

  // ---- lookups (null: unknown)
  const std::vector<int64_t>* FindKey(std::string_view attr, std::string_view value) const;
  // Hands out the MV object and its connectors once (the entry goes).
  std::optional<std::pair<MvObject, std::vector<CsObject>>> TakeMv(int64_t id);
  const std::optional<int64_t>* FindAnchor(int64_t ma_id, std::string_view anchor) const;
  // Unknown: nullopt; known: the name, or nullopt inside when there is none.
  std::optional<std::optional<Store::ConnectorName>> FindName(int64_t mv_id, int64_t ma_id) const;
  const std::vector<int64_t>* FindReferrers(int64_t to_id) const;

  // ---- the batch's writes, told right after each one succeeded
  // An MV object was inserted (it has no connectors or keys yet).
  void MvInserted(int64_t mv_id);
  // An MV object was updated (not its keys).
  void MvUpdated(int64_t mv_id);
  // The join keys of an MV object were replaced by `keys` (lower-cased).
  void KeysReplaced(int64_t mv_id, const std::vector<std::pair<std::string, std::string>>& keys);
  void MvDeleted(int64_t mv_id);
  // The reverse references of MV object `from_id` lost the targets
  // `removed` and gained `added` (both ascending).
  void RefsChanged(int64_t from_id, const std::vector<int64_t>& removed, const std::vector<int64_t>& added);
  // A connector space object was inserted or written (whole or its link):
  // the store now holds `cs` (its anchor, DN, link, MV id, export state).
  // Its anchor's entry is updated when there is one; none is added (a
  // lookup the read-ahead did not ask for goes to the store).
  void CsWritten(const CsObject& cs);
  void CsDeleted(const CsObject& cs);
  // `cs` is about to take a new anchor (written later); its old one goes.
  void AnchorChanging(const CsObject& cs);
  // Objects were marked pending import.
  void PendingSyncMarked(const std::vector<int64_t>& cs_ids);

 private:
  using NameKey = std::pair<int64_t, int64_t>;  // MV id, MA id
  // Ids mixed: std::hash returns an integer as it is, and the tables index
  // by its low bits.
  struct IdHash {
    size_t operator()(int64_t id) const {
      uint64_t h = static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ull;
      return static_cast<size_t>(h ^ (h >> 32));
    }
  };
  struct NameKeyHash {
    size_t operator()(const NameKey& k) const { return IdHash()(k.first * 31 + k.second); }
  };
  // String keys looked up by view, without building a std::string.
  struct StrHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct StrEq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };
  using AnchorTable = tsl::robin_map<std::string, std::optional<int64_t>, StrHash, StrEq>;

  // `attr` '\0' `value` in key_scratch_, the key of keys_.
  std::string_view KeyOf(std::string_view attr, std::string_view value) const;
  AnchorTable* AnchorsOf(int64_t ma_id);
  void ForgetMvOf(int64_t cs_id);
  // Drops the connector name object `cs_id` answered, if any; returns the
  // (MV, MA) it answered for.
  std::optional<NameKey> ForgetNameOf(int64_t cs_id);

  // Join keys: attr '\0' value -> index into key_ids_ (the MV ids, ascending).
  tsl::robin_map<std::string, uint32_t, StrHash, StrEq> keys_;
  std::vector<std::vector<int64_t>> key_ids_;
  size_t key_ids_used_ = 0;  // key_ids_ beyond this are kept only for their capacity
  tsl::robin_map<int64_t, std::vector<uint32_t>, IdHash> keyed_by_mv_;  // MV id -> key_ids_ holding it
  mutable std::string key_scratch_;
  struct MvEntry {
    MvObject mv;
    std::vector<CsObject> connectors;
  };
  tsl::robin_map<int64_t, MvEntry, IdHash> mvs_;
  tsl::robin_map<int64_t, int64_t, IdHash> mv_of_cs_;  // connectors of mvs_ -> their MV id
  std::vector<std::pair<int64_t, AnchorTable>> anchors_;  // per MA (a few)
  tsl::robin_map<NameKey, std::optional<Store::NamedConnector>, NameKeyHash> names_;
  tsl::robin_map<int64_t, NameKey, IdHash> name_of_cs_;  // the object each positive name came from
  tsl::robin_map<int64_t, std::vector<int64_t>, IdHash> referrers_;  // MV id -> its referrers, ascending
  tsl::robin_set<int64_t, IdHash> new_mvs_;  // inserted in this batch: no connector names them but those written since
};

}  // namespace idsync
