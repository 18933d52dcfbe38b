// Synchronizer, batch reads: what a batch's objects will ask the store,
// read ahead in one statement per kind (and per 64 keys), and the store
// calls through the batch's cache.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <unordered_map>

#include "engine/synchronizer.h"
#include "rules/expression.h"

namespace idsync {
namespace {

template <typename T>
void SortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

Status Synchronizer::Prefetch(std::span<const CsObject> batch) {
  cache_.Clear();
  // What the objects will look up: join values per (lower-cased) MV
  // attribute for unlinked objects, the MV objects of linked ones, and the
  // anchors their reference flows give, per MA. An expression that
  // fails here fails again in Process, which reports it; one that calls an
  // extension is left to Process (an extension runs once per use).
  std::map<std::string, std::vector<std::string>> join_values;
  std::vector<int64_t> mv_ids;
  std::map<int64_t, std::vector<std::string>> ref_anchors;
  std::vector<std::pair<int64_t, int64_t>> linked;  // batch objects' ids and MV ids
  std::vector<int64_t> deleted_mvs;  // the MV objects of deleted objects
  for (const auto& cs : batch) {
    const MaObjectType* type = TypeOf(cs);
    if (!type) continue;
    if (cs.mv_id) {
      mv_ids.push_back(*cs.mv_id);
      linked.emplace_back(cs.id, *cs.mv_id);
    }
    if (cs.pending_import == PendingImport::kDelete) {
      if (cs.mv_id) deleted_mvs.push_back(*cs.mv_id);
      continue;
    }
    const Values dn{cs.dn};
    const EvalContext ec{&cs.attrs, ctx_.extensions, &dn};
    if (!cs.mv_id && cs.link != LinkState::kExplicitDisconnector) {
      for (const auto& rule : type->join) {
        if (!rule.cs_value.CalledFunctions().empty()) continue;
        auto values = rule.cs_value.Evaluate(ec);
        if (!values) continue;
        auto& list = join_values[ToLower(rule.mv_attribute)];
        for (const auto& v : *values) list.push_back(ToLower(v));
      }
    }
    const MvObjectType* mv_type = ctx_.config.FindMvType(type->mv_object_type);
    for (const auto& flow : type->import_flows) {
      if (!IsReference(mv_type, flow.target) || flow.expression.ReferencedAttributes().empty() ||
          !flow.expression.CalledFunctions().empty())
        continue;
      auto kind = type->references.find(flow.expression.ReferencedAttributes()[0]);
      if (kind != type->references.end() && kind->second != ReferenceKind::kAnchor) continue;
      // Every value: a new group's members are resolved here too, before
      // the batch queues writes; a lookup of them from Process would wait
      // for those writes first (see docs/performance.md, "The programs'
      // allocator, and a new group's members read ahead").
      auto values = flow.expression.Evaluate(ec);
      if (!values) continue;
      auto& anchors = ref_anchors[cs.ma_id];
      anchors.insert(anchors.end(), values->begin(), values->end());
    }
  }

  for (auto& [attr, values] : join_values) {
    SortUnique(values);
    IDSYNC_ASSIGN(auto found, ctx_.store.FindMvIdsByKeys(attr, values));
    for (const auto& v : values) {
      std::vector<int64_t> ids;
      if (auto it = found.find(v); it != found.end()) ids = std::move(it->second);
      mv_ids.insert(mv_ids.end(), ids.begin(), ids.end());  // join candidates
      cache_.PutKey(attr, v, std::move(ids));
    }
  }

  SortUnique(mv_ids);
  // A deleted object's MV object may go too; DropReferencesTo then reads
  // the objects that refer to it, with their connectors, and writes them.
  // Read here, they do not make the batch's queued writes wait for a read
  // in its middle (docs/performance.md, "Delta sync: a leaver's referrers
  // read ahead").
  std::vector<int64_t> referrers;  // all of them, ascending
  std::vector<int64_t> referrers_only;  // those not read for another reason
  if (!deleted_mvs.empty()) {
    SortUnique(deleted_mvs);
    IDSYNC_ASSIGN(auto found, ctx_.store.ListMvReferrersOf(deleted_mvs));
    for (auto& [to_id, from_ids] : found) {
      referrers.insert(referrers.end(), from_ids.begin(), from_ids.end());
      cache_.PutReferrers(to_id, std::move(from_ids));
    }
    SortUnique(referrers);
    for (int64_t id : referrers)
      if (!std::binary_search(mv_ids.begin(), mv_ids.end(), id)) referrers_only.push_back(id);
  }
  IDSYNC_ASSIGN(auto mvs, ctx_.store.GetMvs(mv_ids));
  IDSYNC_TRY(PrefetchReferenced(mvs));
  if (!referrers_only.empty()) {
    // Not PrefetchReferenced: a referrer's references are translated only
    // when it is exported, which a group woken in this run is not.
    IDSYNC_ASSIGN(auto more, ctx_.store.GetMvs(referrers_only));
    mvs.merge(more);
  }
  if (!mvs.empty()) {
    std::vector<int64_t> found_ids;
    found_ids.reserve(mvs.size());
    for (const auto& [id, mv] : mvs) found_ids.push_back(id);
    SortUnique(found_ids);
    // A batch object's own row is dropped by Process, which has the
    // object; another object's MV with it among its connectors has a
    // connector in this MA, so Join passes it over. Neither reads its maps.
    // DropReferencesTo exports a referrer with all its connectors: theirs
    // are decoded.
    std::vector<int64_t> batch_ids;
    for (const auto& [cs_id, mv_id] : linked)
      if (!std::binary_search(referrers.begin(), referrers.end(), mv_id)) batch_ids.push_back(cs_id);
    SortUnique(batch_ids);
    IDSYNC_ASSIGN(auto connectors, ctx_.store.ListCsByMvs(found_ids, batch_ids));
    for (auto& [id, mv] : mvs) cache_.PutMv(std::move(mv), std::move(connectors[id]));
  }

  // The references' targets, then how each target MA names them.
  std::vector<int64_t> targets;
  for (auto& [ma_id, anchors] : ref_anchors) {
    SortUnique(anchors);
    // A member the group read-ahead found is known with its names.
    std::erase_if(anchors, [&](const std::string& a) { return cache_.FindAnchor(ma_id, a) != nullptr; });
    if (anchors.empty()) continue;
    IDSYNC_ASSIGN(auto found, ctx_.store.FindMvIdsByAnchors(ma_id, anchors));
    for (const auto& anchor : anchors) {
      std::optional<int64_t> id;
      if (auto it = found.find(anchor); it != found.end()) {
        id = it->second;
        targets.push_back(it->second);
      }
      cache_.PutAnchor(ma_id, anchor, id);
    }
  }
  SortUnique(targets);
  if (targets.empty()) return {};
  for (int64_t target : ref_targets_) {
    IDSYNC_ASSIGN(auto names, ctx_.store.FindNamedConnectors(targets, target));
    for (int64_t id : targets) {
      auto it = names.find(id);
      cache_.PutName(id, target, it == names.end() ? std::nullopt : std::make_optional(std::move(it->second)));
    }
  }
  return {};
}

Status Synchronizer::PrefetchReferenced(const std::unordered_map<int64_t, MvObject>& mvs) {
  // The objects the MV objects' multi-valued references name now (a
  // group's members). A group synchronized again mostly keeps them: its new
  // member anchors are mostly their anchors here, and its targets translate
  // mostly them. One walk of the (mv_id, ma_id) index per object answers
  // both, where resolving and translating each member took a lookup each.
  std::vector<int64_t> referenced;
  for (const auto& [id, mv] : mvs) {
    const MvObjectType* type = ctx_.config.FindMvType(mv.object_type);
    if (!type) continue;
    for (const auto& ref : type->references) {
      auto it = mv.attrs.find(ref);
      if (it == mv.attrs.end() || it->second.size() < 2) continue;
      for (const auto& v : it->second)
        if (v.starts_with("mv:")) referenced.push_back(std::strtoll(v.c_str() + 3, nullptr, 10));
    }
  }
  if (referenced.empty()) return {};
  SortUnique(referenced);
  std::vector<int64_t> mas = ref_targets_;
  mas.push_back(ctx_.ma_id);
  SortUnique(mas);
  IDSYNC_ASSIGN(auto rows, ctx_.store.ListMvConnectorNames(referenced, mas));

  // Anchors here: the row with an anchor is the only one with it in this
  // MA, so its MV id is what a lookup of the anchor answers.
  for (const auto& r : rows)
    if (r.ma_id == ctx_.ma_id) cache_.PutAnchor(r.ma_id, r.name.anchor, r.mv_id);
  // Names in each target: every connector of these objects there was read,
  // so the lowest id that qualifies answers, and none qualifying is known.
  for (int64_t target : ref_targets_) {
    std::unordered_map<int64_t, const Store::MvConnectorName*> lowest;
    lowest.reserve(referenced.size());
    for (const auto& r : rows) {
      if (r.ma_id != target || r.link != LinkState::kConnector || r.pending_export == PendingExport::kDelete)
        continue;
      auto [it, added] = lowest.try_emplace(r.mv_id, &r);
      if (!added && r.cs_id < it->second->cs_id) it->second = &r;
    }
    for (int64_t id : referenced) {
      auto it = lowest.find(id);
      if (it == lowest.end()) cache_.PutName(id, target, std::nullopt);
      else cache_.PutName(id, target, Store::NamedConnector{it->second->cs_id, it->second->name});
    }
  }
  return {};
}

Result<std::vector<int64_t>> Synchronizer::MvIdsByKey(const std::string& attr, const std::string& value) {
  if (const auto* ids = cache_.FindKey(attr, value)) return *ids;
  return ctx_.store.FindMvByKey(attr, value);
}

Result<std::optional<std::pair<MvObject, std::vector<CsObject>>>> Synchronizer::MvWithConnectors(int64_t id) {
  using Found = std::optional<std::pair<MvObject, std::vector<CsObject>>>;
  if (auto hit = cache_.TakeMv(id)) return hit;
  IDSYNC_ASSIGN(auto mv, ctx_.store.GetMv(id));
  if (!mv) return Found();
  IDSYNC_ASSIGN(auto connectors, ctx_.store.ListCsByMv(id));
  return Found(std::in_place, std::move(*mv), std::move(connectors));
}

Result<std::optional<int64_t>> Synchronizer::MvIdByAnchor(int64_t ma_id, const std::string& anchor) {
  if (const auto* known = cache_.FindAnchor(ma_id, anchor)) return *known;
  return ctx_.store.FindMvIdByAnchor(ma_id, anchor);
}

Result<std::vector<int64_t>> Synchronizer::Referrers(int64_t mv_id) {
  if (const auto* known = cache_.FindReferrers(mv_id)) return *known;
  return ctx_.store.ListMvReferrers(mv_id);
}

Result<std::map<int64_t, Store::ConnectorName>> Synchronizer::ConnectorNames(const std::vector<int64_t>& mv_ids,
                                                                            int64_t ma_id) {
  std::map<int64_t, Store::ConnectorName> names;
  std::vector<int64_t> unknown;
  for (int64_t id : mv_ids) {
    auto known = cache_.FindName(id, ma_id);
    if (!known) unknown.push_back(id);
    else if (*known) names.emplace(id, std::move(**known));
  }
  // Many (a group's members) are looked up together; one has its own lookup.
  if (unknown.size() > 1) {
    IDSYNC_ASSIGN(auto more, ctx_.store.FindConnectorNames(unknown, ma_id));
    names.merge(more);
  } else if (unknown.size() == 1) {
    IDSYNC_ASSIGN(auto name, ctx_.store.FindConnectorName(unknown[0], ma_id));
    if (name) names.emplace(unknown[0], std::move(*name));
  }
  return names;
}

Status Synchronizer::WriteCs(const CsObject& cs) {
  IDSYNC_TRY(ctx_.store.UpdateCs(cs));
  cache_.CsWritten(cs);
  return {};
}

Status Synchronizer::WriteCsLink(const CsObject& cs) {
  IDSYNC_TRY(ctx_.store.UpdateCsLink(cs));
  cache_.CsWritten(cs);
  return {};
}

Status Synchronizer::RemoveCs(const CsObject& cs) {
  IDSYNC_TRY(ctx_.store.DeleteCs(cs.id));
  cache_.CsDeleted(cs);
  return {};
}

Result<bool> Synchronizer::ProvisionCs(CsObject& cs) {
  IDSYNC_ASSIGN(bool inserted, ctx_.store.InsertCsIfNew(cs));
  if (inserted) cache_.CsWritten(cs);
  return inserted;
}

Status Synchronizer::MarkPending(const std::vector<int64_t>& cs_ids) {
  IDSYNC_TRY(ctx_.store.MarkPendingSync(cs_ids));
  cache_.PendingSyncMarked(cs_ids);
  return {};
}

}  // namespace idsync
