// Synchronizer, outbound: export flows, provisioning, renames and
// deprovisioning (metaverse -> connector spaces of target MAs).
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "connectors/ldif/dn.h"
#include "engine/synchronizer.h"
#include "rules/expression.h"

namespace idsync {

Result<Values> Synchronizer::RefsOut(int64_t target_id, int64_t from_mv, ReferenceKind kind, const Values& values,
                                     bool final_pass, Outcome& out) {
  std::vector<int64_t> ids;
  for (const auto& v : values)
    if (v.starts_with("mv:")) ids.push_back(std::strtoll(v.c_str() + 3, nullptr, 10));
  IDSYNC_ASSIGN(auto names, ConnectorNames(ids, target_id));
  Values refs;
  for (int64_t id : ids) {
    auto name = names.find(id);
    if (name == names.end()) {
      out.unresolved = true;
      if (final_pass && from_mv) {
        // Exported when the referenced object gets an object there.
        ++ctx_.counters.unresolved_references;
        IDSYNC_TRY(ctx_.store.AddExportWait(target_id, id, from_mv));
        export_waits_exist_[target_id] = true;
      }
      continue;
    }
    refs.push_back(kind == ReferenceKind::kAnchor ? name->second.anchor : name->second.dn);
  }
  return refs;
}

Result<std::vector<Values>> Synchronizer::ExportValues(const MvObject& mv, int64_t target_id,
                                                        const MaObjectType& type, bool final_pass, Outcome& out) {
  std::vector<Values> all;
  all.reserve(type.export_flows.size());
  for (const auto& flow : type.export_flows) {
    IDSYNC_ASSIGN(Values values, Eval(flow.expression, mv.attrs, "export flow to", flow.target));
    auto ref = type.references.find(flow.target);
    if (ref != type.references.end()) {
      IDSYNC_ASSIGN(values, RefsOut(target_id, mv.id, ref->second, values, final_pass, out));
    }
    all.push_back(std::move(values));
  }
  return all;
}

namespace {

// Whether a later export flow of `type` writes the same attribute as flow
// `i` (names compare ignoring case), so that flow `i` decides nothing.
bool Overwritten(const MaObjectType& type, size_t i) {
  const auto& flows = type.export_flows;
  for (size_t j = i + 1; j < flows.size(); ++j)
    if (EqualsIgnoreCase(flows[i].target, flows[j].target)) return true;
  return false;
}

// `attrs` with the export flows' values set (an empty value removes the
// attribute); the values are moved out.
void ApplyExport(const MaObjectType& type, std::vector<Values>& values, AttributeMap& attrs) {
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& target = type.export_flows[i].target;
    if (values[i].empty()) attrs.erase(target);
    else attrs[target] = std::move(values[i]);
  }
}

// Whether ApplyExport would leave `attrs` equal to what it is, without
// copying it: an attribute written keeps its spelling in the map.
bool ExportKeeps(const MaObjectType& type, const std::vector<Values>& values, const AttributeMap& attrs) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (Overwritten(type, i)) continue;
    auto it = attrs.find(type.export_flows[i].target);
    if (values[i].empty() ? it != attrs.end() : it == attrs.end() || it->second != values[i]) return false;
  }
  return true;
}

// Fails when `dn`, which a provisioning DN template gave, has an empty RDN
// value ("cn=,ou=people" from an empty cn): a directory would reject it, or
// it would name an entry nobody meant. Checked where the DN would name an
// object (a new one, or a rename), not on every sync.
Status CheckRdnValues(const Provisioning& provisioning, const std::string& dn) {
  std::string empty_in = EmptyRdnValueAttribute(dn);
  if (empty_in.empty()) return {};
  return Fail(ErrorCode::kInvalidArgument,
              fmt::format("provisioning DN '{}' gave '{}' for this object, with an empty '{}' value; give the "
                          "object the attribute the DN is made of, or change the DN template",
                          provisioning.dn.text(), dn, empty_in));
}

}  // namespace

Status Synchronizer::FlowOut(MvObject& mv, std::vector<CsObject>& connectors, CsObject* source,
                             bool final_pass, Outcome& out) {
  for (size_t m = 0; m < ctx_.config.mas.size(); ++m) {
    const ManagementAgent& target = ctx_.config.mas[m];
    const int64_t target_id = config_ma_ids_[m];
    for (const auto& type : target.object_types) {
      if (type.mv_object_type != mv.object_type) continue;
      if (type.export_flows.empty() && !type.provisioning) continue;
      CsObject* existing = nullptr;
      bool write = true;
      if (source && source->ma_id == target_id) {
        if (source->object_type != type.name) continue;
        existing = source;  // written by Process after this
        write = false;
      } else {
        for (auto& c : connectors)
          if (c.ma_id == target_id && c.object_type == type.name) existing = &c;
        // Another object type of this MA already holds the connector.
        if (!existing && std::any_of(connectors.begin(), connectors.end(),
                                     [&](const CsObject& c) { return c.ma_id == target_id; }))
          continue;
      }
      if (existing && existing->link != LinkState::kConnector) continue;
      IDSYNC_TRY(FlowOutTo(mv, target_id, type, existing, write, final_pass, out));
    }
  }
  return {};
}

Status Synchronizer::FlowOutTo(MvObject& mv, int64_t target_id, const MaObjectType& type, CsObject* existing,
                               bool write, bool final_pass, Outcome& out) {
  std::string dn;
  if (type.provisioning) {
    IDSYNC_ASSIGN(Values dn_values, Eval(type.provisioning->dn, mv.attrs, "provisioning DN"));
    if (!dn_values.empty()) dn = dn_values[0];
  }
  if (!existing) {
    if (!type.provisioning) return {};
    if (type.provisioning->condition) {
      IDSYNC_ASSIGN(Values cond, Eval(*type.provisioning->condition, mv.attrs, "provisioning condition"));
      if (!IsTruthy(cond)) return {};
    }
    if (dn.empty())
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("provisioning DN '{}' gave no value for this object", type.provisioning->dn.text()));
    IDSYNC_TRY(CheckRdnValues(*type.provisioning, dn));
    IDSYNC_ASSIGN(auto values, ExportValues(mv, target_id, type, final_pass, out));
    AttributeMap attrs;
    ApplyExport(type, values, attrs);
    bool by_dn = EqualsIgnoreCase(type.anchor, "dn");
    std::string anchor = by_dn ? dn : std::string(FirstValue(attrs, type.anchor));
    if (anchor.empty())
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("cannot provision: the export flows give no value for the anchor '{}'", type.anchor));
    CsObject c;
    c.ma_id = target_id;
    c.anchor = anchor;
    c.dn = dn;
    c.export_dn = dn;
    c.object_type = type.name;
    c.link = LinkState::kConnector;
    c.mv_id = mv.id;
    c.pending_export = PendingExport::kAdd;
    c.export_attrs = std::move(attrs);
    IDSYNC_ASSIGN(bool inserted, ProvisionCs(c));
    if (inserted) {
      ++ctx_.counters.provisioned_adds;
      if (!export_waits_exist_[target_id]) return {};
      IDSYNC_ASSIGN(auto waiting, ctx_.store.TakeExportWaits(target_id, mv.id));
      return RefreshReferrers(mv.id, target_id, waiting);
    }
    IDSYNC_ASSIGN(auto clash, ctx_.store.FindCsByAnchor(target_id, anchor));
    if (!clash || clash->link != LinkState::kNormalDisconnector || clash->mv_id)
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("cannot provision: anchor '{}' is already held by another object in the target", anchor));
    // An unlinked object with the same anchor is this identity: link it.
    clash->link = LinkState::kConnector;
    clash->mv_id = mv.id;
    ++ctx_.counters.joins;
    IDSYNC_TRY(FlowOutTo(mv, target_id, type, &*clash, /*write=*/false, final_pass, out));
    return WriteCs(*clash);  // the new link is saved even when no value changes
  }

  CsObject& c = *existing;
  if (c.pending_export == PendingExport::kDelete) return {};
  bool pending = c.pending_export != PendingExport::kNone;
  const std::string& current_dn = c.export_dn.empty() ? c.dn : c.export_dn;
  if (dn.empty()) dn = current_dn;
  else if (dn != current_dn) IDSYNC_TRY(CheckRdnValues(*type.provisioning, dn));
  // The desired attributes are the base (what is pending, else what the
  // target has) with the flows' values set; built only when they differ.
  IDSYNC_ASSIGN(auto values, ExportValues(mv, target_id, type, final_pass, out));
  const bool keeps_base = ExportKeeps(type, values, pending ? c.export_attrs : c.attrs);
  bool dirty = false;
  bool renamed = false;
  if (c.pending_export == PendingExport::kAdd) {
    renamed = dn != c.export_dn;
    if (!keeps_base || dn != c.export_dn) {
      ApplyExport(type, values, c.export_attrs);
      c.export_dn = dn;
      c.dn = dn;
      if (EqualsIgnoreCase(type.anchor, "dn") && c.anchor != dn) {
        cache_.AnchorChanging(c);
        c.anchor = dn;
      }
      dirty = true;
    }
  } else {
    // Not pending: the desired attributes equal the target's exactly when the
    // flows keep them. Pending an update: built, to compare with the target's.
    std::optional<AttributeMap> desired;
    bool as_target;
    if (!pending) {
      as_target = keeps_base;
    } else {
      desired = c.export_attrs;
      ApplyExport(type, values, *desired);
      as_target = *desired == c.attrs;
    }
    if (as_target && dn == c.dn) {
      renamed = !c.export_dn.empty() && c.export_dn != c.dn;  // a pending rename taken back
      if (pending) {
        c.pending_export = PendingExport::kNone;
        c.export_attrs.clear();
        c.export_dn.clear();
        dirty = true;
      }
    } else {
      std::string export_dn = dn == c.dn ? "" : dn;
      renamed = export_dn != c.export_dn;
      if (!pending || !keeps_base || export_dn != c.export_dn) {
        if (!export_dn.empty() && export_dn != c.export_dn) ++ctx_.counters.export_renames;
        else ++ctx_.counters.export_updates;
        c.pending_export = PendingExport::kUpdate;
        if (desired) {
          c.export_attrs = std::move(*desired);
        } else {
          c.export_attrs = c.attrs;
          ApplyExport(type, values, c.export_attrs);
        }
        c.export_dn = export_dn;
        dirty = true;
      }
    }
  }
  if (dirty && write) IDSYNC_TRY(WriteCs(c));
  if (dirty && !write) source_changed_ = true;
  if (renamed) {
    // Objects that refer to this one hold its old DN there.
    IDSYNC_ASSIGN(auto referrers, ctx_.store.ListMvReferrers(mv.id));
    IDSYNC_TRY(RefreshReferrers(mv.id, target_id, referrers));
  }
  return {};
}

Status Synchronizer::RefreshReferrers(int64_t mv_id, std::optional<int64_t> target_id,
                                      const std::vector<int64_t>& referrers) {
  if (refresh_depth_ > 0) return {};
  ++refresh_depth_;
  Status st;
  for (int64_t id : referrers) {
    if (id == mv_id) continue;
    auto mv = ctx_.store.GetMv(id);
    if (!mv) st = tl::unexpected(mv.error());
    if (!st || !*mv) break;
    auto connectors = ctx_.store.ListCsByMv(id);
    if (!connectors) st = tl::unexpected(connectors.error());
    if (!st) break;
    Outcome out;
    out.final_pass = true;
    for (auto& c : *connectors) {
      if (c.link != LinkState::kConnector || (target_id && c.ma_id != *target_id)) continue;
      const MaObjectType* type = TypeOf(c);
      if (!type || type->export_flows.empty()) continue;
      st = FlowOutTo(**mv, c.ma_id, *type, &c, /*write=*/true, /*final_pass=*/true, out);
      if (!st) break;
    }
    if (!st) break;
  }
  --refresh_depth_;
  return st;
}

Status Synchronizer::DropReferencesTo(int64_t mv_id) {
  IDSYNC_ASSIGN(auto referrers, Referrers(mv_id));
  const std::string value = "mv:" + std::to_string(mv_id);
  for (int64_t id : referrers) {
    if (id == mv_id) continue;
    IDSYNC_ASSIGN(auto found, MvWithConnectors(id));
    if (!found) continue;
    MvObject* mv = &found->first;
    std::vector<CsObject>& connectors = found->second;
    Indexed before = IndexedOf(*mv);
    for (auto& [attr, values] : mv->attrs) std::erase(values, value);
    Normalize(mv->attrs);
    IDSYNC_TRY(SaveMv(*mv, before, false));
    ++ctx_.counters.flow_updates;
    // The referrer's sources still name the deleted object: synchronize them
    // again, so the reference waits for that object to come back.
    std::vector<int64_t> sources;
    for (const auto& c : connectors) {
      const MaObjectType* type = TypeOf(c);
      bool imports_references = type && !type->references.empty() && !type->import_flows.empty();
      if (c.link == LinkState::kConnector && imports_references) sources.push_back(c.id);
    }
    IDSYNC_TRY(MarkPending(sources));
    bool woken_here = false;
    for (const auto& c : connectors) {
      if (c.ma_id == ctx_.ma_id && std::find(sources.begin(), sources.end(), c.id) != sources.end()) {
        woken_.push_back(c.id);
        woken_here = true;
      }
    }
    // A source woken in this run exports the referrer when it is
    // synchronized again; exporting now as well would do it twice. An export
    // flow of the referrer that fails is then that object's error, not the
    // deletion's (docs/performance.md, the delta cycle).
    if (woken_here) continue;
    Outcome out;
    out.final_pass = true;
    IDSYNC_TRY(FlowOut(*mv, connectors, nullptr, true, out));
  }
  return {};
}

Status Synchronizer::DeleteMv(MvObject& mv, std::vector<CsObject>& connectors) {
  for (auto& c : connectors) {
    if (c.link != LinkState::kConnector) continue;
    const MaObjectType* type = TypeOf(c);
    Deprovision action = type && type->provisioning ? type->provisioning->deprovision : Deprovision::kDisconnect;
    c.mv_id.reset();
    if (action == Deprovision::kDelete) {
      ++ctx_.counters.export_deletes;
      const bool unexported_add = c.pending_export == PendingExport::kAdd;
      if (unexported_add) {
        IDSYNC_ASSIGN(bool in_flight, ctx_.store.InOpenExportBatch(c.ma_id, c.id));
        if (!in_flight) {
          IDSYNC_TRY(RemoveCs(c));  // never exported: nothing to delete there
          continue;
        }
      }
      c.link = LinkState::kNormalDisconnector;
      c.pending_export = PendingExport::kDelete;
      c.export_attrs.clear();
      // An add that an open export batch covers may have been written: it
      // stays as a withdrawn add, which keeps its export DN (see
      // WithdrawnAdd).
      if (!unexported_add) c.export_dn.clear();
      else if (c.export_dn.empty()) c.export_dn = c.dn;
    } else {
      ++ctx_.counters.deprovision_disconnects;
      c.link = action == Deprovision::kExplicitDisconnect ? LinkState::kExplicitDisconnector
                                                          : LinkState::kNormalDisconnector;
    }
    IDSYNC_TRY(WriteCs(c));
  }
  ++ctx_.counters.mv_deletes;
  IDSYNC_TRY(DropReferencesTo(mv.id));
  IDSYNC_TRY(ctx_.store.DeleteMv(mv.id));
  cache_.MvDeleted(mv.id);
  return {};
}

}  // namespace idsync
