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
// Thread-safety: one per Synchronizer.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

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

  // ---- lookups (null: unknown)
  const std::vector<int64_t>* FindKey(const std::string& attr, const std::string& value) const;
  // Hands out the MV object and its connectors once (the entry goes).
  std::optional<std::pair<MvObject, std::vector<CsObject>>> TakeMv(int64_t id);
  const std::optional<int64_t>* FindAnchor(int64_t ma_id, const std::string& anchor) const;
  // Unknown: nullopt; known: the name, or nullopt inside when there is none.
  std::optional<std::optional<Store::ConnectorName>> FindName(int64_t mv_id, int64_t ma_id) const;

  // ---- the batch's writes, told right after each one succeeded
  // An MV object was inserted (it has no connectors or keys yet).
  void MvInserted(int64_t mv_id);
  // An MV object was updated (not its keys).
  void MvUpdated(int64_t mv_id);
  // The join keys of an MV object were replaced by `keys` (lower-cased).
  void KeysReplaced(int64_t mv_id, const std::vector<std::pair<std::string, std::string>>& keys);
  void MvDeleted(int64_t mv_id);
  // A connector space object was inserted or written (whole or its link):
  // the store now holds `cs` (its anchor, DN, link, MV id, export state).
  void CsWritten(const CsObject& cs);
  void CsDeleted(const CsObject& cs);
  // `cs` is about to take a new anchor (written later); its old one goes.
  void AnchorChanging(const CsObject& cs);
  // Objects were marked pending import.
  void PendingSyncMarked(const std::vector<int64_t>& cs_ids);

 private:
  using NameKey = std::pair<int64_t, int64_t>;  // MV id, MA id
  void ForgetMvOf(int64_t cs_id);
  // Drops the connector name object `cs_id` answered, if any; returns the
  // (MV, MA) it answered for.
  std::optional<NameKey> ForgetNameOf(int64_t cs_id);

  std::unordered_map<std::string, std::vector<int64_t>> keys_;  // attr '\0' value -> MV ids
  std::unordered_map<int64_t, std::vector<std::string>> keyed_by_mv_;  // MV id -> keys_ entries holding it
  struct MvEntry {
    MvObject mv;
    std::vector<CsObject> connectors;
  };
  std::unordered_map<int64_t, MvEntry> mvs_;
  std::unordered_map<int64_t, int64_t> mv_of_cs_;  // connectors of mvs_ -> their MV id
  std::map<int64_t, std::unordered_map<std::string, std::optional<int64_t>>> anchors_;  // per MA
  std::map<NameKey, std::optional<Store::NamedConnector>> names_;
  std::unordered_map<int64_t, NameKey> name_of_cs_;  // the object each positive name came from
  std::set<int64_t> new_mvs_;  // inserted in this batch: no connector names them but those written since
};

}  // namespace idsync
