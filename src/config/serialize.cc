// Writes the Config model back as canonical TOML documents.
#include <sstream>

#include <toml++/toml.h>

#include "config/config.h"
#include "store/store.h"

namespace idsync {
namespace {

toml::array Strings(const std::vector<std::string>& items) {
  toml::array a;
  for (const auto& s : items) a.push_back(s);
  return a;
}

toml::table Flows(const std::vector<Flow>& flows) {
  toml::table t;
  for (const auto& f : flows) t.insert_or_assign(f.target, f.expression.text());
  return t;
}

std::string_view DeprovisionName(Deprovision d) {
  switch (d) {
    case Deprovision::kDelete: return "delete";
    case Deprovision::kDisconnect: return "disconnect";
    case Deprovision::kExplicitDisconnect: return "explicit-disconnect";
  }
  return "delete";
}

toml::table MaTypeTable(const MaObjectType& t) {
  toml::table out;
  out.insert("mv_object_type", t.mv_object_type);
  out.insert("anchor", t.anchor);
  if (!t.object_class.empty()) out.insert("object_class", t.object_class);
  out.insert("attributes", Strings(t.attributes));
  if (!t.references.empty()) {
    toml::table refs;
    for (const auto& [attr, kind] : t.references)
      refs.insert(attr, kind == ReferenceKind::kDn ? "dn" : "anchor");
    out.insert("references", std::move(refs));
  }
  if (t.filter) out.insert("filter", t.filter->text());
  if (!t.join.empty()) {
    toml::array rules;
    for (const auto& j : t.join) rules.push_back(toml::table{{"mv", j.mv_attribute}, {"cs", j.cs_value.text()}});
    out.insert("join", std::move(rules));
  }
  if (t.project) out.insert("project", true);
  if (!t.import_flows.empty()) out.insert("import_flows", Flows(t.import_flows));
  if (!t.export_flows.empty()) out.insert("export_flows", Flows(t.export_flows));
  if (t.provisioning) {
    toml::table p;
    p.insert("dn", t.provisioning->dn.text());
    if (t.provisioning->condition) p.insert("condition", t.provisioning->condition->text());
    p.insert("deprovision", DeprovisionName(t.provisioning->deprovision));
    out.insert("provisioning", std::move(p));
  }
  return out;
}

toml::table MaTable(const ManagementAgent& ma) {
  toml::table out;
  out.insert("connector", ma.connector);
  if (!ma.description.empty()) out.insert("description", ma.description);
  out.insert("error_limit", ma.error_limit);
  if (ma.password_sync) out.insert("password_sync", true);
  if (ma.deletion_threshold.count || ma.deletion_threshold.percent) {
    toml::table th;
    if (ma.deletion_threshold.count) th.insert("count", ma.deletion_threshold.count);
    if (ma.deletion_threshold.percent) th.insert("percent", ma.deletion_threshold.percent);
    out.insert("deletion_threshold", std::move(th));
  }
  toml::table settings;
  for (const auto& [k, v] : ma.settings) settings.insert(k, v);
  out.insert("settings", std::move(settings));
  toml::table types;
  for (const auto& t : ma.object_types) types.insert(t.name, MaTypeTable(t));
  out.insert("object_types", std::move(types));
  if (!ma.run_profiles.empty()) {
    toml::table profiles;
    for (const auto& [name, steps] : ma.run_profiles) profiles.insert(name, Strings(steps));
    out.insert("run_profiles", std::move(profiles));
  }
  return out;
}

}  // namespace

std::vector<ConfigDocument> ToDocuments(const Config& config) {
  toml::table root;
  toml::table mv_types;
  for (const auto& t : config.mv_types) {
    toml::table tt;
    tt.insert("attributes", Strings(t.attributes));
    if (!t.references.empty()) tt.insert("references", Strings(t.references));
    tt.insert("deletion", t.deletion == DeletionRule::kSourceMa ? "source:" + t.deletion_ma : "last-connector");
    mv_types.insert(t.name, std::move(tt));
  }
  root.insert("metaverse", toml::table{{"object_types", std::move(mv_types)}});
  if (!config.precedence_default.empty() || !config.precedence.empty()) {
    toml::table prec;
    if (!config.precedence_default.empty()) prec.insert("default", Strings(config.precedence_default));
    if (!config.precedence.empty()) {
      toml::table attrs;
      for (const auto& [attr, p] : config.precedence) {
        if (p.equal) attrs.insert(attr, "equal");
        else attrs.insert(attr, Strings(p.order));
      }
      prec.insert("attributes", std::move(attrs));
    }
    root.insert("precedence", std::move(prec));
  }
  toml::table mas;
  for (const auto& ma : config.mas) mas.insert(ma.name, MaTable(ma));
  if (!mas.empty()) root.insert("ma", std::move(mas));
  if (!config.schedules.empty()) {
    toml::array schedules;
    for (const auto& s : config.schedules) {
      toml::table t{{"ma", s.ma}, {"profile", s.profile}};
      if (s.every_ms > 0) t.insert("every", FormatInterval(s.every_ms));
      else t.insert("cron", s.cron.text);
      schedules.push_back(std::move(t));
    }
    root.insert("schedule", std::move(schedules));
  }
  std::vector<ConfigDocument> docs;
  if (!config.extensions.empty()) {
    toml::table exts;
    for (const auto& e : config.extensions) {
      std::string file = "extensions/" + e.name + ".lua";
      exts.insert(e.name, toml::table{{"file", file}});
      docs.push_back({file, e.code});
    }
    root.insert("extensions", std::move(exts));
  }
  std::ostringstream out;
  out << "# idsync configuration, written by `idsync config export`.\n";
  out << toml::toml_formatter(root) << "\n";
  docs.insert(docs.begin(), ConfigDocument{"idsync.toml", out.str()});
  return docs;
}

}  // namespace idsync
