#include "engine/synchronizer.h"

#include <algorithm>

#include <fmt/format.h>

#include "rules/expression.h"

namespace idsync {

Synchronizer::Synchronizer(RunContext& ctx) : ctx_(ctx), join_attrs_(ctx.config.JoinAttributes()) {}

Status Synchronizer::Init() {
  for (const auto& ma : ctx_.config.mas) {
    IDSYNC_ASSIGN(int64_t id, ctx_.store.EnsureManagementAgent(ma.name));
    config_ma_ids_.push_back(id);
    mas_by_id_[id] = &ma;
    IDSYNC_ASSIGN(waits_exist_[id], ctx_.store.HasRefWaits(id));
    IDSYNC_ASSIGN(export_waits_exist_[id], ctx_.store.HasExportWaits(id));
  }
  for (size_t m = 0; m < ctx_.config.mas.size(); ++m) {
    for (const auto& type : ctx_.config.mas[m].object_types) {
      if (std::any_of(type.export_flows.begin(), type.export_flows.end(),
                      [&](const auto& flow) { return type.references.count(flow.target) > 0; })) {
        ref_targets_.push_back(config_ma_ids_[m]);
        break;
      }
    }
  }
  return {};
}

const MaObjectType* Synchronizer::TypeOf(const CsObject& cs, const ManagementAgent** ma_out) const {
  auto it = mas_by_id_.find(cs.ma_id);
  if (it == mas_by_id_.end()) return nullptr;
  if (ma_out) *ma_out = it->second;
  for (const auto& t : it->second->object_types)
    if (t.name == cs.object_type) return &t;
  return nullptr;
}

Result<Values> Synchronizer::Eval(const Expression& e, const AttributeMap& attrs, std::string_view what,
                                  std::string_view target, const Values* dn) {
  EvalContext ec{&attrs, ctx_.extensions, dn};
  auto v = e.Evaluate(ec);
  if (!v) {
    std::string rule = target.empty() ? std::string(what) : fmt::format("{} {}", what, target);
    return Fail(ErrorCode::kInvalidArgument, fmt::format("{} '{}': {}", rule, e.text(), v.error().message));
  }
  return v;
}

Status Synchronizer::Process(CsObject& cs, bool final_pass, bool* deferred) {
  *deferred = false;
  source_changed_ = false;
  // The link as read, to tell whether it must be written at the end.
  const LinkState link_before = cs.link;
  const std::optional<int64_t> mv_id_before = cs.mv_id;
  const PendingImport pending_before = cs.pending_import;
  Outcome out;
  out.final_pass = final_pass;
  const MaObjectType* type = TypeOf(cs);
  if (!type)
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("object type '{}' is no longer configured for MA '{}'", cs.object_type, ctx_.ma.name));

  std::optional<MvObject> mv;
  std::vector<CsObject> connectors;  // the MV object's other connectors
  if (cs.mv_id) {
    IDSYNC_ASSIGN(auto found, MvWithConnectors(*cs.mv_id));
    if (found) {
      mv = std::move(found->first);
      connectors = std::move(found->second);
      std::erase_if(connectors, [&](const CsObject& c) { return c.id == cs.id; });
    } else {
      cs.mv_id.reset();
      cs.link = LinkState::kNormalDisconnector;
    }
  }

  if (cs.pending_import == PendingImport::kDelete) {
    if (mv) IDSYNC_TRY(Disconnect(cs, *mv, connectors, out));
    return RemoveCs(cs);
  }

  // Expressions read the object's DN as the attribute `dn`.
  const Values dn{cs.dn};
  if (type->filter) {
    IDSYNC_ASSIGN(Values filtered, Eval(*type->filter, cs.attrs, "connector filter", {}, &dn));
    if (IsTruthy(filtered)) {
      if (mv) IDSYNC_TRY(Disconnect(cs, *mv, connectors, out));
      if (cs.link != LinkState::kFilteredDisconnector) ++ctx_.counters.filtered;
      cs.link = LinkState::kFilteredDisconnector;
      cs.mv_id.reset();
      cs.pending_import = PendingImport::kNone;
      return WriteCs(cs);
    }
    if (cs.link == LinkState::kFilteredDisconnector) cs.link = LinkState::kNormalDisconnector;
  }

  if (cs.link == LinkState::kExplicitDisconnector) {
    cs.pending_import = PendingImport::kNone;
    return WriteCs(cs);
  }

  bool is_new = false;
  if (!mv) {
    IDSYNC_ASSIGN(auto joined, Join(cs, dn, *type));
    if (joined) {
      mv = std::move(joined->mv);
      connectors = std::move(joined->connectors);
      ++ctx_.counters.joins;
    } else if (type->project) {
      mv = MvObject{};
      mv->object_type = type->mv_object_type;
      is_new = true;
      ++ctx_.counters.projections;
    } else {
      cs.link = LinkState::kNormalDisconnector;
      cs.pending_import = PendingImport::kNone;
      return WriteCs(cs);
    }
  }

  Indexed before = is_new ? Indexed{} : IndexedOf(*mv);
  bool newly_linked = !cs.mv_id;
  bool changed = false;
  IDSYNC_TRY(FlowIn(cs, dn, *type, *mv, connectors, &changed, out));
  if (is_new || changed) IDSYNC_TRY(SaveMv(*mv, before, is_new));
  if (changed && !is_new) ++ctx_.counters.flow_updates;
  cs.mv_id = mv->id;
  cs.link = LinkState::kConnector;
  if (newly_linked) IDSYNC_TRY(WakeWaiters(cs));

  IDSYNC_TRY(FlowOut(*mv, connectors, &cs, final_pass, out));

  if (out.unresolved && !final_pass) {
    *deferred = true;
    if (cs.pending_import == PendingImport::kNone) cs.pending_import = PendingImport::kUpdate;
  } else {
    cs.pending_import = PendingImport::kNone;
  }
  // Sync changes only the link and the pending flag, unless export flows
  // write back to this object; an object already linked and not pending (a
  // full sync of objects synchronized before) is not written at all.
  if (source_changed_) return WriteCs(cs);
  if (cs.link == link_before && cs.mv_id == mv_id_before && cs.pending_import == pending_before) return {};
  return WriteCsLink(cs);
}

}  // namespace idsync
