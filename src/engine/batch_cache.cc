#include "engine/batch_cache.h"

#include <algorithm>

namespace idsync {
namespace {

// `id` taken out of / put into the ascending list `ids`, where it is (not).
void EraseSorted(std::vector<int64_t>& ids, int64_t id) {
  auto at = std::lower_bound(ids.begin(), ids.end(), id);
  if (at != ids.end() && *at == id) ids.erase(at);
}
void InsertSorted(std::vector<int64_t>& ids, int64_t id) {
  auto at = std::lower_bound(ids.begin(), ids.end(), id);
  if (at == ids.end() || *at != id) ids.insert(at, id);
}

}  // namespace

std::string_view BatchCache::KeyOf(std::string_view attr, std::string_view value) const {
  key_scratch_.assign(attr).push_back('\0');
  key_scratch_.append(value);
  return key_scratch_;
}

BatchCache::AnchorTable* BatchCache::AnchorsOf(int64_t ma_id) {
  for (auto& [id, table] : anchors_)
    if (id == ma_id) return &table;
  return nullptr;
}

void BatchCache::Clear() {
  keys_.clear();
  for (size_t i = 0; i < key_ids_used_; ++i) key_ids_[i].clear();
  key_ids_used_ = 0;
  keyed_by_mv_.clear();
  mvs_.clear();
  mv_of_cs_.clear();
  for (auto& [id, table] : anchors_) table.clear();
  names_.clear();
  name_of_cs_.clear();
  referrers_.clear();
  new_mvs_.clear();
}

void BatchCache::PutKey(const std::string& attr, const std::string& value, std::vector<int64_t> ids) {
  auto [it, added] = keys_.try_emplace(std::string(KeyOf(attr, value)), static_cast<uint32_t>(key_ids_used_));
  if (added) {
    if (key_ids_used_ == key_ids_.size()) key_ids_.emplace_back();
    ++key_ids_used_;
  } else {
    for (int64_t id : key_ids_[it->second]) std::erase(keyed_by_mv_[id], it->second);
  }
  const uint32_t entry = it->second;
  for (int64_t id : ids) keyed_by_mv_[id].push_back(entry);
  key_ids_[entry].assign(ids.begin(), ids.end());
}

void BatchCache::PutMv(MvObject mv, std::vector<CsObject> connectors) {
  const int64_t id = mv.id;
  for (const auto& c : connectors) mv_of_cs_[c.id] = id;
  mvs_.insert_or_assign(id, MvEntry{std::move(mv), std::move(connectors)});
}

void BatchCache::PutAnchor(int64_t ma_id, const std::string& anchor, std::optional<int64_t> mv_id) {
  auto it = std::find_if(anchors_.begin(), anchors_.end(), [&](const auto& t) { return t.first == ma_id; });
  if (it == anchors_.end()) it = anchors_.insert(anchors_.end(), {ma_id, AnchorTable()});
  it->second.insert_or_assign(anchor, mv_id);
}

void BatchCache::PutName(int64_t mv_id, int64_t ma_id, std::optional<Store::NamedConnector> name) {
  if (name) name_of_cs_[name->cs_id] = {mv_id, ma_id};
  names_.insert_or_assign(NameKey{mv_id, ma_id}, std::move(name));
}

void BatchCache::PutReferrers(int64_t to_id, std::vector<int64_t> from_ids) {
  referrers_.insert_or_assign(to_id, std::move(from_ids));
}

const std::vector<int64_t>* BatchCache::FindReferrers(int64_t to_id) const {
  auto it = referrers_.find(to_id);
  return it == referrers_.end() ? nullptr : &it->second;
}

const std::vector<int64_t>* BatchCache::FindKey(std::string_view attr, std::string_view value) const {
  auto it = keys_.find(KeyOf(attr, value));
  return it == keys_.end() ? nullptr : &key_ids_[it->second];
}

std::optional<std::pair<MvObject, std::vector<CsObject>>> BatchCache::TakeMv(int64_t id) {
  auto it = mvs_.find(id);
  if (it == mvs_.end()) return std::nullopt;
  std::pair<MvObject, std::vector<CsObject>> out{std::move(it.value().mv), std::move(it.value().connectors)};
  mvs_.erase(it);
  return out;
}

const std::optional<int64_t>* BatchCache::FindAnchor(int64_t ma_id, std::string_view anchor) const {
  for (const auto& [id, table] : anchors_) {
    if (id != ma_id) continue;
    auto it = table.find(anchor);
    return it == table.end() ? nullptr : &it->second;
  }
  return nullptr;
}

std::optional<std::optional<Store::ConnectorName>> BatchCache::FindName(int64_t mv_id, int64_t ma_id) const {
  using Known = std::optional<Store::ConnectorName>;
  auto it = names_.find(NameKey{mv_id, ma_id});
  if (it != names_.end()) return it->second ? Known(it->second->name) : Known();
  // Every connector of an MV object inserted in this batch was written since.
  if (new_mvs_.count(mv_id)) return Known();
  return std::nullopt;
}

void BatchCache::MvInserted(int64_t mv_id) { new_mvs_.insert(mv_id); }

void BatchCache::MvUpdated(int64_t mv_id) { mvs_.erase(mv_id); }

void BatchCache::KeysReplaced(int64_t mv_id, const std::vector<std::pair<std::string, std::string>>& keys) {
  auto had = keyed_by_mv_.find(mv_id);
  if (had != keyed_by_mv_.end()) {
    for (uint32_t entry : had->second) std::erase(key_ids_[entry], mv_id);
    keyed_by_mv_.erase(had);
  }
  for (const auto& [attr, value] : keys) {
    auto it = keys_.find(KeyOf(attr, value));
    if (it == keys_.end()) continue;  // unknown stays unknown
    auto& ids = key_ids_[it->second];
    auto at = std::lower_bound(ids.begin(), ids.end(), mv_id);
    if (at != ids.end() && *at == mv_id) continue;
    ids.insert(at, mv_id);
    keyed_by_mv_[mv_id].push_back(it->second);
  }
}

void BatchCache::MvDeleted(int64_t mv_id) {
  KeysReplaced(mv_id, {});
  mvs_.erase(mv_id);
  // Its references, both ways, went with it (a batch knows a few lists).
  referrers_.erase(mv_id);
  for (auto it = referrers_.begin(); it != referrers_.end(); ++it) EraseSorted(it.value(), mv_id);
}

void BatchCache::RefsChanged(int64_t from_id, const std::vector<int64_t>& removed, const std::vector<int64_t>& added) {
  if (referrers_.empty()) return;
  // A list not read stays unknown.
  for (int64_t to_id : removed)
    if (auto it = referrers_.find(to_id); it != referrers_.end()) EraseSorted(it.value(), from_id);
  for (int64_t to_id : added)
    if (auto it = referrers_.find(to_id); it != referrers_.end()) InsertSorted(it.value(), from_id);
}

void BatchCache::ForgetMvOf(int64_t cs_id) {
  auto it = mv_of_cs_.find(cs_id);
  if (it == mv_of_cs_.end()) return;
  mvs_.erase(it->second);
  mv_of_cs_.erase(it);
}

std::optional<BatchCache::NameKey> BatchCache::ForgetNameOf(int64_t cs_id) {
  auto it = name_of_cs_.find(cs_id);
  if (it == name_of_cs_.end()) return std::nullopt;
  const NameKey key = it->second;
  auto n = names_.find(key);
  if (n != names_.end() && n->second && n->second->cs_id == cs_id) names_.erase(n);
  name_of_cs_.erase(it);
  return key;
}

void BatchCache::CsWritten(const CsObject& cs) {
  if (!mv_of_cs_.empty()) ForgetMvOf(cs.id);
  if (cs.mv_id && !mvs_.empty()) mvs_.erase(*cs.mv_id);
  // The anchor is unique in its MA: the row written is the one it names.
  // Only an entry the batch asked for is kept up to date.
  if (AnchorTable* table = AnchorsOf(cs.ma_id)) {
    auto it = table->find(cs.anchor);
    if (it != table->end()) it.value() = cs.mv_id;
  }

  // Connector names: the entry this object answered goes first.
  const std::optional<NameKey> was = ForgetNameOf(cs.id);
  if (!cs.mv_id || cs.link != LinkState::kConnector || cs.pending_export == PendingExport::kDelete) return;
  const NameKey key{*cs.mv_id, cs.ma_id};
  auto n = names_.find(key);
  bool answers;
  if (n != names_.end() && n->second) answers = cs.id < n->second->cs_id;  // the lowest id answers
  else if (n != names_.end()) answers = true;                             // there was none
  else answers = (was && *was == key) || new_mvs_.count(*cs.mv_id) > 0;
  if (!answers) return;
  names_.insert_or_assign(
      key, Store::NamedConnector{cs.id, {cs.anchor, cs.export_dn.empty() ? cs.dn : cs.export_dn}});
  name_of_cs_[cs.id] = key;
}

void BatchCache::CsDeleted(const CsObject& cs) {
  ForgetMvOf(cs.id);
  if (cs.mv_id) mvs_.erase(*cs.mv_id);
  if (AnchorTable* table = AnchorsOf(cs.ma_id)) table->erase(cs.anchor);
  ForgetNameOf(cs.id);
}

void BatchCache::AnchorChanging(const CsObject& cs) {
  if (AnchorTable* table = AnchorsOf(cs.ma_id)) table->erase(cs.anchor);
}

void BatchCache::PendingSyncMarked(const std::vector<int64_t>& cs_ids) {
  for (int64_t id : cs_ids) ForgetMvOf(id);
}

}  // namespace idsync
