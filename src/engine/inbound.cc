// Synchronizer, inbound: join, import flows with precedence, recall and
// disconnection (connector space -> metaverse).
#include <algorithm>
#include <iterator>
#include <map>

#include <fmt/format.h>

#include "engine/synchronizer.h"

namespace idsync {
bool Synchronizer::IsReference(const MvObjectType* type, std::string_view attr) {
  return type && std::any_of(type->references.begin(), type->references.end(),
                             [&](const std::string& r) { return EqualsIgnoreCase(r, attr); });
}

Result<std::optional<Synchronizer::JoinMatch>> Synchronizer::Join(const CsObject& cs, const Values& dn,
                                                                  const MaObjectType& type) {
  for (size_t rule = 0; rule < type.join.size(); ++rule) {
    const JoinRule& j = type.join[rule];
    IDSYNC_ASSIGN(Values values, Eval(j.cs_value, cs.attrs, "join rule", {}, &dn));
    std::vector<JoinMatch> candidates;
    const std::string attr = ToLower(j.mv_attribute);
    for (const auto& v : values) {
      IDSYNC_ASSIGN(auto ids, MvIdsByKey(attr, ToLower(v)));
      for (int64_t id : ids) {
        if (std::any_of(candidates.begin(), candidates.end(), [&](const JoinMatch& m) { return m.mv.id == id; }))
          continue;
        IDSYNC_ASSIGN(auto found, MvWithConnectors(id));
        if (!found || found->first.object_type != type.mv_object_type) continue;
        // An MV object has at most one connector per MA.
        auto& links = found->second;
        if (std::any_of(links.begin(), links.end(), [&](const CsObject& c) { return c.ma_id == cs.ma_id; }))
          continue;
        candidates.push_back({std::move(found->first), std::move(links)});
      }
    }
    if (candidates.size() == 1) return std::optional<JoinMatch>(std::move(candidates[0]));
    if (candidates.size() > 1) {
      std::string ids;
      for (const auto& m : candidates) ids += (ids.empty() ? "" : ", ") + std::to_string(m.mv.id);
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("ambiguous join: rule {} ({} = {}) matches metaverse objects {}; make the rule "
                              "more specific or fix the data",
                              rule + 1, j.mv_attribute, j.cs_value.text(), ids));
    }
  }
  return std::optional<JoinMatch>();
}

bool Synchronizer::Contribute(MvObject& mv, const std::string& attr, std::string_view ma, Values values,
                              bool* changed) const {
  const CaseInsensitiveLess less;
  auto cur_it = mv.contributors.lower_bound(attr);
  const bool has_cur = cur_it != mv.contributors.end() && !less(attr, cur_it->first);
  std::string_view cur = has_cur ? std::string_view(cur_it->second) : std::string_view();
  if (!values.empty()) {
    // Precedence decides only against another MA's value; with equal
    // precedence (no rank) the last writer wins.
    if (!cur.empty() && cur != ma) {
      auto rank = ctx_.config.Rank(attr, ma);
      if (rank && *rank >= ctx_.config.Rank(attr, cur).value_or(INT32_MAX)) return false;
    }
    auto it = mv.attrs.lower_bound(attr);
    if (it == mv.attrs.end() || less(attr, it->first)) {
      mv.attrs.emplace_hint(it, attr, std::move(values));
      *changed = true;
    } else if (it->second != values) {
      it->second = std::move(values);
      *changed = true;
    }
    if (cur != ma) {
      if (has_cur) cur_it->second = ma;
      else mv.contributors.emplace_hint(cur_it, attr, ma);
      *changed = true;
    }
    return false;
  }
  if (cur != ma) return false;  // a null never displaces another MA's value
  mv.attrs.erase(attr);
  if (has_cur) mv.contributors.erase(cur_it);
  *changed = true;
  return true;
}

Result<Values> Synchronizer::RefsIn(int64_t ma_id, int64_t cs_id, const MaObjectType& type, std::string_view attr,
                                    const Values& values, bool final_pass, Outcome& out) {
  auto kind_it = type.references.find(attr);
  ReferenceKind kind = kind_it == type.references.end() ? ReferenceKind::kAnchor : kind_it->second;
  // Many anchors (a group's members) are answered by the batch's cache
  // where it knows them (the members the group had), and the rest are
  // looked up together.
  const bool together = kind == ReferenceKind::kAnchor && values.size() > 1;
  std::vector<std::optional<int64_t>> resolved;
  if (together) {
    resolved.resize(values.size());
    std::vector<std::string> unknown;
    std::vector<size_t> unknown_at;
    for (size_t i = 0; i < values.size(); ++i) {
      if (const auto* known = cache_.FindAnchor(ma_id, values[i])) {
        resolved[i] = *known;
      } else {
        unknown.push_back(values[i]);
        unknown_at.push_back(i);
      }
    }
    if (unknown.size() == 1) {
      IDSYNC_ASSIGN(resolved[unknown_at[0]], ctx_.store.FindMvIdByAnchor(ma_id, unknown[0]));
    } else if (!unknown.empty()) {
      IDSYNC_ASSIGN(auto by_anchor, ctx_.store.FindMvIdsByAnchors(ma_id, unknown));
      for (size_t k = 0; k < unknown.size(); ++k) {
        auto it = by_anchor.find(unknown[k]);
        if (it != by_anchor.end()) resolved[unknown_at[k]] = it->second;
      }
    }
  }
  Values mv_refs;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& v = values[i];
    std::optional<int64_t> mv_id;
    if (together) {
      mv_id = resolved[i];
    } else if (kind == ReferenceKind::kDn) {
      IDSYNC_ASSIGN(mv_id, ctx_.store.FindMvIdByDn(ma_id, v));
    } else {
      IDSYNC_ASSIGN(mv_id, MvIdByAnchor(ma_id, v));
    }
    if (mv_id) {
      mv_refs.push_back("mv:" + std::to_string(*mv_id));
    } else {
      out.unresolved = true;
      if (final_pass && cs_id) {
        // Left out for now; the object is synchronized again when the
        // referenced object is linked (WakeWaiters).
        ++ctx_.counters.unresolved_references;
        IDSYNC_TRY(ctx_.store.AddRefWait(ma_id, v, cs_id));
        waits_exist_[ma_id] = true;
      }
    }
  }
  return mv_refs;
}

Status Synchronizer::FlowIn(const CsObject& cs, const Values& dn, const MaObjectType& type, MvObject& mv,
                            const std::vector<CsObject>& connectors, bool* changed, Outcome& out) {
  const MvObjectType* mv_type = ctx_.config.FindMvType(mv.object_type);
  std::vector<std::string> recall;
  // A new object's maps are filled here: one allocation each.
  if (mv.attrs.empty()) mv.attrs.reserve(type.import_flows.size());
  if (mv.contributors.empty()) mv.contributors.reserve(type.import_flows.size());
  for (const auto& flow : type.import_flows) {
    IDSYNC_ASSIGN(Values values, Eval(flow.expression, cs.attrs, "import flow to", flow.target, &dn));
    if (IsReference(mv_type, flow.target)) {
      IDSYNC_ASSIGN(values, RefsIn(cs.ma_id, cs.id, type, flow.expression.ReferencedAttributes()[0], values,
                                   out.final_pass, out));
    }
    if (Contribute(mv, flow.target, ctx_.ma.name, std::move(values), changed)) recall.push_back(flow.target);
  }
  if (!recall.empty()) IDSYNC_TRY(Recall(mv, recall, connectors, out));
  return {};
}

Status Synchronizer::Recall(MvObject& mv, const std::vector<std::string>& attrs,
                            const std::vector<CsObject>& connectors, Outcome& out) {
  bool changed = false;
  for (const auto& c : connectors) {
    const ManagementAgent* ma = nullptr;
    const MaObjectType* type = TypeOf(c, &ma);
    if (!type || c.link != LinkState::kConnector || ma == &ctx_.ma) continue;
    const Values dn{c.dn};
    for (const auto& flow : type->import_flows) {
      if (std::none_of(attrs.begin(), attrs.end(), [&](const auto& a) { return EqualsIgnoreCase(a, flow.target); }))
        continue;
      IDSYNC_ASSIGN(Values values, Eval(flow.expression, c.attrs, "import flow to", flow.target, &dn));
      if (IsReference(ctx_.config.FindMvType(mv.object_type), flow.target)) {
        IDSYNC_ASSIGN(values, RefsIn(c.ma_id, c.id, *type, flow.expression.ReferencedAttributes()[0], values,
                                     out.final_pass, out));
      }
      Contribute(mv, flow.target, ma->name, std::move(values), &changed);
    }
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> Synchronizer::JoinKeys(const MvObject& mv) const {
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& attr : join_attrs_) {
    auto it = mv.attrs.find(attr);
    if (it == mv.attrs.end()) continue;
    for (const auto& v : it->second) keys.emplace_back(ToLower(attr), ToLower(v));
  }
  return keys;
}

Synchronizer::Indexed Synchronizer::IndexedOf(const MvObject& mv) const {
  Indexed out{JoinKeys(mv), {}};
  if (const MvObjectType* type = ctx_.config.FindMvType(mv.object_type)) {
    for (const auto& ref : type->references) {
      auto it = mv.attrs.find(ref);
      if (it == mv.attrs.end()) continue;
      for (const auto& v : it->second)
        if (v.starts_with("mv:")) out.refs.push_back(std::strtoll(v.c_str() + 3, nullptr, 10));
    }
  }
  std::sort(out.refs.begin(), out.refs.end());
  out.refs.erase(std::unique(out.refs.begin(), out.refs.end()), out.refs.end());
  return out;
}

Status Synchronizer::SaveMv(MvObject& mv, const Indexed& before, bool is_new) {
  if (is_new) {
    IDSYNC_TRY(ctx_.store.InsertMv(mv));
    cache_.MvInserted(mv.id);
  } else {
    IDSYNC_TRY(ctx_.store.UpdateMv(mv));
    cache_.MvUpdated(mv.id);
  }
  Indexed after = IndexedOf(mv);
  if (!join_attrs_.empty() && (is_new ? !after.keys.empty() : after.keys != before.keys)) {
    IDSYNC_TRY(ctx_.store.SetMvKeys(mv.id, after.keys, is_new));
    cache_.KeysReplaced(mv.id, after.keys);
  }
  if (is_new) {
    if (!after.refs.empty()) IDSYNC_TRY(ctx_.store.SetMvRefs(mv.id, after.refs, true));
    cache_.RefsChanged(mv.id, {}, after.refs);
  } else if (after.refs != before.refs) {
    std::vector<int64_t> removed, added;  // both lists are sorted and unique
    std::set_difference(before.refs.begin(), before.refs.end(), after.refs.begin(), after.refs.end(),
                        std::back_inserter(removed));
    std::set_difference(after.refs.begin(), after.refs.end(), before.refs.begin(), before.refs.end(),
                        std::back_inserter(added));
    IDSYNC_TRY(ctx_.store.ChangeMvRefs(mv.id, removed, added));
    cache_.RefsChanged(mv.id, removed, added);
  }
  return {};
}

Status Synchronizer::WakeWaiters(const CsObject& cs) {
  auto it = waits_exist_.find(cs.ma_id);
  if (it == waits_exist_.end() || !it->second) return {};
  IDSYNC_ASSIGN(auto by_anchor, ctx_.store.TakeRefWaits(cs.ma_id, cs.anchor));
  std::vector<int64_t> ids = std::move(by_anchor);
  if (cs.dn != cs.anchor) {
    IDSYNC_ASSIGN(auto by_dn, ctx_.store.TakeRefWaits(cs.ma_id, cs.dn));
    ids.insert(ids.end(), by_dn.begin(), by_dn.end());
  }
  std::erase(ids, cs.id);
  if (ids.empty()) return {};
  IDSYNC_TRY(MarkPending(ids));  // a crash before they are processed loses nothing
  woken_.insert(woken_.end(), ids.begin(), ids.end());
  return {};
}

Status Synchronizer::Disconnect(CsObject& cs, MvObject& mv, std::vector<CsObject>& others, Outcome& out) {
  Indexed before = IndexedOf(mv);
  std::vector<std::string> recall;
  for (auto it = mv.contributors.begin(); it != mv.contributors.end();) {
    if (it->second == ctx_.ma.name) {
      recall.push_back(it->first);
      mv.attrs.erase(it->first);
      it = mv.contributors.erase(it);
    } else {
      ++it;
    }
  }
  cs.mv_id.reset();
  cs.link = LinkState::kNormalDisconnector;
  ++ctx_.counters.disconnects;
  const MvObjectType* mv_type = ctx_.config.FindMvType(mv.object_type);
  bool last = std::none_of(others.begin(), others.end(),
                           [](const CsObject& c) { return c.link == LinkState::kConnector; });
  bool delete_mv = mv_type && ((mv_type->deletion == DeletionRule::kLastConnector && last) ||
                               (mv_type->deletion == DeletionRule::kSourceMa && mv_type->deletion_ma == ctx_.ma.name));
  if (delete_mv) return DeleteMv(mv, others);
  IDSYNC_TRY(Recall(mv, recall, others, out));
  IDSYNC_TRY(SaveMv(mv, before, false));
  return FlowOut(mv, others, nullptr, true, out);
}

}  // namespace idsync
