#include "engine/batch_cache.h"

#include <algorithm>

namespace idsync {
namespace {

std::string KeyOf(const std::string& attr, const std::string& value) {
  std::string key;
  key.reserve(attr.size() + 1 + value.size());
  key.append(attr).push_back('\0');
  key.append(value);
  return key;
}

}  // namespace

void BatchCache::Clear() {
  keys_.clear();
  keyed_by_mv_.clear();
  mvs_.clear();
  mv_of_cs_.clear();
  anchors_.clear();
  names_.clear();
  name_of_cs_.clear();
  new_mvs_.clear();
}

void BatchCache::PutKey(const std::string& attr, const std::string& value, std::vector<int64_t> ids) {
  std::string key = KeyOf(attr, value);
  for (int64_t id : ids) keyed_by_mv_[id].push_back(key);
  keys_.insert_or_assign(std::move(key), std::move(ids));
}

void BatchCache::PutMv(MvObject mv, std::vector<CsObject> connectors) {
  const int64_t id = mv.id;
  for (const auto& c : connectors) mv_of_cs_[c.id] = id;
  mvs_.insert_or_assign(id, MvEntry{std::move(mv), std::move(connectors)});
}

void BatchCache::PutAnchor(int64_t ma_id, const std::string& anchor, std::optional<int64_t> mv_id) {
  anchors_[ma_id].insert_or_assign(anchor, mv_id);
}

void BatchCache::PutName(int64_t mv_id, int64_t ma_id, std::optional<Store::NamedConnector> name) {
  if (name) name_of_cs_[name->cs_id] = {mv_id, ma_id};
  names_.insert_or_assign(NameKey{mv_id, ma_id}, std::move(name));
}

const std::vector<int64_t>* BatchCache::FindKey(const std::string& attr, const std::string& value) const {
  auto it = keys_.find(KeyOf(attr, value));
  return it == keys_.end() ? nullptr : &it->second;
}

std::optional<std::pair<MvObject, std::vector<CsObject>>> BatchCache::TakeMv(int64_t id) {
  auto it = mvs_.find(id);
  if (it == mvs_.end()) return std::nullopt;
  std::pair<MvObject, std::vector<CsObject>> out{std::move(it->second.mv), std::move(it->second.connectors)};
  mvs_.erase(it);
  return out;
}

const std::optional<int64_t>* BatchCache::FindAnchor(int64_t ma_id, const std::string& anchor) const {
  auto ma = anchors_.find(ma_id);
  if (ma == anchors_.end()) return nullptr;
  auto it = ma->second.find(anchor);
  return it == ma->second.end() ? nullptr : &it->second;
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
    for (const auto& key : had->second) {
      auto it = keys_.find(key);
      if (it != keys_.end()) std::erase(it->second, mv_id);
    }
    keyed_by_mv_.erase(had);
  }
  for (const auto& [attr, value] : keys) {
    std::string key = KeyOf(attr, value);
    auto it = keys_.find(key);
    if (it == keys_.end()) continue;  // unknown stays unknown
    auto& ids = it->second;
    auto at = std::lower_bound(ids.begin(), ids.end(), mv_id);
    if (at != ids.end() && *at == mv_id) continue;
    ids.insert(at, mv_id);
    keyed_by_mv_[mv_id].push_back(std::move(key));
  }
}

void BatchCache::MvDeleted(int64_t mv_id) {
  KeysReplaced(mv_id, {});
  mvs_.erase(mv_id);
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
  ForgetMvOf(cs.id);
  if (cs.mv_id) mvs_.erase(*cs.mv_id);
  // The anchor is unique in its MA: the row written is the one it names.
  anchors_[cs.ma_id].insert_or_assign(cs.anchor, cs.mv_id);

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
  if (auto ma = anchors_.find(cs.ma_id); ma != anchors_.end()) ma->second.erase(cs.anchor);
  ForgetNameOf(cs.id);
}

void BatchCache::AnchorChanging(const CsObject& cs) {
  if (auto ma = anchors_.find(cs.ma_id); ma != anchors_.end()) ma->second.erase(cs.anchor);
}

void BatchCache::PendingSyncMarked(const std::vector<int64_t>& cs_ids) {
  for (int64_t id : cs_ids) ForgetMvOf(id);
}

}  // namespace idsync
