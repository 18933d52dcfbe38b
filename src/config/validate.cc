// Cross-checks of a loaded configuration: every name, attribute, reference
// and extension function an MA uses must exist.
#include <algorithm>

#include <fmt/format.h>

#include "config/config.h"
#include "config/config_internal.h"
#include "connectors/connector_config.h"
#include "rules/lua_host.h"

namespace idsync {
namespace {

bool Contains(const std::vector<std::string>& list, std::string_view name) {
  return std::any_of(list.begin(), list.end(), [&](const auto& a) { return EqualsIgnoreCase(a, name); });
}

tl::unexpected<Error> At(const std::string& where, const std::string& message) {
  return Fail(ErrorCode::kConfig, fmt::format("{}: {}", where, message));
}

// Attributes an expression over a CS object may read.
bool IsCsAttribute(const MaObjectType& t, std::string_view a) {
  return EqualsIgnoreCase(a, "dn") || Contains(t.attributes, a) || t.references.count(std::string(a)) > 0;
}

bool IsMvAttribute(const MvObjectType& t, std::string_view a) {
  return Contains(t.attributes, a) || Contains(t.references, a);
}

// A reference flows only as a plain attribute (the engine translates it).
bool IsPlainReference(const Expression& e) {
  return e.ReferencedAttributes().size() == 1 && e.CalledFunctions().empty() &&
         EqualsIgnoreCase(e.text(), e.ReferencedAttributes()[0]);
}

Status CheckReads(const Expression& e, const std::string& where, const std::string& side,
                  const std::function<bool(std::string_view)>& known) {
  for (const auto& a : e.ReferencedAttributes())
    if (!known(a))
      return At(where, fmt::format("expression '{}' reads attribute '{}', which the {} does not "
                                   "declare; add it to its attributes or fix the name",
                                   e.text(), a, side));
  return {};
}

Status ValidateType(const Config& config, const ManagementAgent& ma, const MaObjectType& t) {
  const MvObjectType* mv = config.FindMvType(t.mv_object_type);
  if (!mv)
    return At(t.where, fmt::format("mv_object_type '{}' is not a metaverse object type", t.mv_object_type));
  if (!EqualsIgnoreCase(t.anchor, "dn") && !Contains(t.attributes, t.anchor))
    return At(t.where, fmt::format("anchor '{}' must be \"dn\" or one of the attributes", t.anchor));
  std::string cs_side = fmt::format("object type '{}' of MA '{}'", t.name, ma.name);
  std::string mv_side = fmt::format("metaverse object type '{}'", mv->name);
  auto cs_known = [&](std::string_view a) { return IsCsAttribute(t, a); };
  auto mv_known = [&](std::string_view a) { return IsMvAttribute(*mv, a); };
  if (t.filter) IDSYNC_TRY(CheckReads(*t.filter, t.where, cs_side, cs_known));
  for (const auto& j : t.join) {
    if (!Contains(mv->attributes, j.mv_attribute))
      return At(j.where, fmt::format("join attribute '{}' is not an attribute of {}", j.mv_attribute, mv_side));
    IDSYNC_TRY(CheckReads(j.cs_value, j.where, cs_side, cs_known));
  }
  for (const auto& f : t.import_flows) {
    if (!IsMvAttribute(*mv, f.target))
      return At(f.where, fmt::format("import flow target '{}' is not an attribute of {}", f.target, mv_side));
    IDSYNC_TRY(CheckReads(f.expression, f.where, cs_side, cs_known));
    bool target_ref = Contains(mv->references, f.target);
    if (target_ref && (!IsPlainReference(f.expression) ||
                       !t.references.count(f.expression.ReferencedAttributes()[0])))
      return At(f.where, fmt::format("'{}' is a reference: its flow must name one reference attribute "
                                     "of the MA (listed under references)", f.target));
  }
  for (const auto& f : t.export_flows) {
    if (!Contains(t.attributes, f.target) && !t.references.count(f.target))
      return At(f.where, fmt::format("export flow target '{}' is not an attribute of {}", f.target, cs_side));
    IDSYNC_TRY(CheckReads(f.expression, f.where, mv_side, mv_known));
    if (t.references.count(f.target) &&
        (!IsPlainReference(f.expression) || !Contains(mv->references, f.expression.ReferencedAttributes()[0])))
      return At(f.where, fmt::format("'{}' is a reference: its flow must name one reference attribute "
                                     "of {}", f.target, mv_side));
  }
  if (t.provisioning) {
    IDSYNC_TRY(CheckReads(t.provisioning->dn, t.provisioning->where, mv_side, mv_known));
    if (t.provisioning->condition)
      IDSYNC_TRY(CheckReads(*t.provisioning->condition, t.provisioning->where, mv_side, mv_known));
  }
  return {};
}

Status CheckMaName(const Config& config, const std::string& name, const std::string& where) {
  if (!config.FindMa(name))
    return Fail(ErrorCode::kConfig, fmt::format("{}: '{}' is not a management agent", where, name));
  return {};
}

}  // namespace

Status Validate(const Config& config) {
  for (const auto& mv : config.mv_types) {
    if (mv.deletion == DeletionRule::kSourceMa) IDSYNC_TRY(CheckMaName(config, mv.deletion_ma, mv.where));
  }
  for (const auto& name : config.precedence_default) IDSYNC_TRY(CheckMaName(config, name, config.precedence_where));
  for (const auto& [attr, p] : config.precedence)
    for (const auto& name : p.order) IDSYNC_TRY(CheckMaName(config, name, p.where));
  for (const auto& ma : config.mas) {
    auto st = ValidateConnectorConfig(ToConnectorConfig(ma));
    if (!st) return At(ma.where, st.error().message);
    for (const auto& t : ma.object_types) IDSYNC_TRY(ValidateType(config, ma, t));
  }
  for (size_t i = 0; i < config.schedules.size(); ++i) {
    const Schedule& s = config.schedules[i];
    const ManagementAgent* ma = config.FindMa(s.ma);
    if (!ma) return At(s.where, fmt::format("'{}' is not a management agent", s.ma));
    if (!ma->run_profiles.count(s.profile) && !IsStepName(s.profile))
      return At(s.where, fmt::format("'{}' is neither a run profile of MA '{}' nor a step name", s.profile, s.ma));
    for (size_t j = 0; j < i; ++j)
      if (config.schedules[j].Describe() == s.Describe())
        return At(s.where, fmt::format("the same schedule is already written at {}", config.schedules[j].where));
  }
  // Extensions must load, and every function an expression calls must exist.
  std::vector<ExtensionSource> sources;
  for (const auto& e : config.extensions) sources.push_back({e.name, e.code});
  IDSYNC_ASSIGN(auto host, ExtensionHost::Load(sources));
  auto check_calls = [&](const Expression& e, const std::string& where) -> Status {
    for (const auto& fn : e.CalledFunctions())
      if (!host->HasFunction(fn))
        return At(where, fmt::format("'{}' is neither a built-in function nor defined by an extension", fn));
    return {};
  };
  for (const auto& ma : config.mas) {
    for (const auto& t : ma.object_types) {
      if (t.filter) IDSYNC_TRY(check_calls(*t.filter, t.where));
      for (const auto& j : t.join) IDSYNC_TRY(check_calls(j.cs_value, j.where));
      for (const auto& f : t.import_flows) IDSYNC_TRY(check_calls(f.expression, f.where));
      for (const auto& f : t.export_flows) IDSYNC_TRY(check_calls(f.expression, f.where));
      if (t.provisioning) IDSYNC_TRY(check_calls(t.provisioning->dn, t.provisioning->where));
    }
  }
  return {};
}

ConnectorConfig ToConnectorConfig(const ManagementAgent& ma) {
  ConnectorConfig c;
  c.type = ma.connector;
  c.ma_name = ma.name;
  c.settings = ma.settings;
  for (const auto& t : ma.object_types) {
    ConnectorObjectType ct{t.name, t.object_class, t.attributes};
    // Reference attributes are attributes of the connected system too.
    for (const auto& [ref, kind] : t.references)
      if (!Contains(ct.attributes, ref)) ct.attributes.push_back(ref);
    c.object_types.push_back(std::move(ct));
  }
  return c;
}

}  // namespace idsync
