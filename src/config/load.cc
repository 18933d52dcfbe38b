// Reads TOML configuration files into the Config model.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/config.h"
#include "config/config_internal.h"
#include "config/toml_reader.h"
#include "store/store.h"

namespace idsync {
namespace fs = std::filesystem;
namespace {

Result<Expression> ParseExpr(TomlReader& r, std::string_view key, const std::string& text) {
  auto e = Expression::Parse(text);
  if (!e) return r.ErrorAt(key, "bad expression: " + e.error().message);
  return *e;
}

Result<std::optional<Expression>> OptExpr(TomlReader& r, std::string_view key) {
  IDSYNC_ASSIGN(auto text, r.OptString(key));
  if (!text) return std::optional<Expression>();
  IDSYNC_ASSIGN(auto e, ParseExpr(r, key, *text));
  return std::optional<Expression>(std::move(e));
}

Result<std::vector<Flow>> ReadFlows(std::optional<TomlReader>& table) {
  std::vector<Flow> flows;
  if (!table) return flows;
  IDSYNC_ASSIGN(auto pairs, table->StringPairs());
  for (auto& [target, text] : pairs) {
    IDSYNC_ASSIGN(auto e, ParseExpr(*table, target, text));
    flows.push_back(Flow{target, std::move(e), table->Where(target)});
  }
  return flows;
}

Result<MaObjectType> ReadMaType(TomlReader& r, const std::string& name) {
  MaObjectType t;
  t.name = name;
  t.where = r.Where("");
  IDSYNC_ASSIGN(t.mv_object_type, r.String("mv_object_type"));
  IDSYNC_ASSIGN(t.anchor, r.String("anchor"));
  IDSYNC_ASSIGN(auto oc, r.OptString("object_class"));
  t.object_class = oc.value_or("");
  IDSYNC_ASSIGN(auto attrs, r.OptStrings("attributes"));
  t.attributes = attrs.value_or(std::vector<std::string>{});
  IDSYNC_ASSIGN(auto refs, r.OptTable("references"));
  if (refs) {
    IDSYNC_ASSIGN(auto pairs, refs->StringPairs());
    for (auto& [attr, kind] : pairs) {
      if (kind == "anchor") t.references[attr] = ReferenceKind::kAnchor;
      else if (kind == "dn") t.references[attr] = ReferenceKind::kDn;
      else return refs->ErrorAt(attr, "must be \"anchor\" or \"dn\" (what a reference value holds)");
    }
    IDSYNC_TRY(refs->CheckNoUnknownKeys());
  }
  IDSYNC_ASSIGN(t.filter, OptExpr(r, "filter"));
  IDSYNC_ASSIGN(auto project, r.OptBool("project"));
  t.project = project.value_or(false);
  if (const toml::node* join = r.Node("join")) {
    const toml::array* rules = join->as_array();
    if (!rules) return r.ErrorAt("join", "must be an array of tables { mv = \"...\", cs = \"...\" }");
    for (size_t i = 0; i < rules->size(); ++i) {
      const toml::table* rule = (*rules)[i].as_table();
      if (!rule) return r.ErrorAt("join", "must be an array of tables { mv = \"...\", cs = \"...\" }");
      TomlReader jr(*rule, r.file(), r.Child(fmt::format("join[{}]", i)));
      IDSYNC_ASSIGN(auto mv, jr.String("mv"));
      IDSYNC_ASSIGN(auto cs, jr.String("cs"));
      IDSYNC_ASSIGN(auto e, ParseExpr(jr, "cs", cs));
      IDSYNC_TRY(jr.CheckNoUnknownKeys());
      t.join.push_back(JoinRule{mv, std::move(e), jr.Where("mv")});
    }
  }
  IDSYNC_ASSIGN(auto imports, r.OptTable("import_flows"));
  IDSYNC_ASSIGN(t.import_flows, ReadFlows(imports));
  if (imports) IDSYNC_TRY(imports->CheckNoUnknownKeys());
  IDSYNC_ASSIGN(auto exports, r.OptTable("export_flows"));
  IDSYNC_ASSIGN(t.export_flows, ReadFlows(exports));
  if (exports) IDSYNC_TRY(exports->CheckNoUnknownKeys());
  IDSYNC_ASSIGN(auto prov, r.OptTable("provisioning"));
  if (prov) {
    IDSYNC_ASSIGN(auto dn_text, prov->String("dn"));
    IDSYNC_ASSIGN(auto dn, ParseExpr(*prov, "dn", dn_text));
    IDSYNC_ASSIGN(auto condition, OptExpr(*prov, "condition"));
    IDSYNC_ASSIGN(auto deprov, prov->OptString("deprovision"));
    Provisioning p{std::move(dn), std::move(condition), Deprovision::kDelete, prov->Where("dn")};
    std::string d = deprov.value_or("delete");
    if (d == "delete") p.deprovision = Deprovision::kDelete;
    else if (d == "disconnect") p.deprovision = Deprovision::kDisconnect;
    else if (d == "explicit-disconnect") p.deprovision = Deprovision::kExplicitDisconnect;
    else return prov->ErrorAt("deprovision", "must be \"delete\", \"disconnect\" or \"explicit-disconnect\"");
    IDSYNC_TRY(prov->CheckNoUnknownKeys());
    t.provisioning = std::move(p);
  }
  IDSYNC_TRY(r.CheckNoUnknownKeys());
  return t;
}

Result<ManagementAgent> ReadMa(TomlReader& r, const std::string& name, const fs::path& base) {
  ManagementAgent ma;
  ma.name = name;
  ma.where = r.Where("");
  IDSYNC_ASSIGN(ma.connector, r.String("connector"));
  IDSYNC_ASSIGN(auto desc, r.OptString("description"));
  ma.description = desc.value_or("");
  IDSYNC_ASSIGN(auto limit, r.OptInt("error_limit"));
  ma.error_limit = limit.value_or(1000);
  if (ma.error_limit < 0) return r.ErrorAt("error_limit", "must be 0 or more");
  IDSYNC_ASSIGN(auto password_sync, r.OptBool("password_sync"));
  ma.password_sync = password_sync.value_or(false);
  IDSYNC_ASSIGN(auto threshold, r.OptTable("deletion_threshold"));
  if (threshold) {
    IDSYNC_ASSIGN(auto count, threshold->OptInt("count"));
    IDSYNC_ASSIGN(auto percent, threshold->OptNumber("percent"));
    ma.deletion_threshold.count = count.value_or(0);
    ma.deletion_threshold.percent = percent.value_or(0);
    if (ma.deletion_threshold.count < 0 || ma.deletion_threshold.percent < 0 ||
        ma.deletion_threshold.percent > 100)
      return threshold->ErrorAt("", "count must be 0 or more and percent between 0 and 100");
    IDSYNC_TRY(threshold->CheckNoUnknownKeys());
  }
  IDSYNC_ASSIGN(auto settings, r.OptTable("settings"));
  if (settings) {
    IDSYNC_ASSIGN(auto pairs, settings->StringPairs());
    for (auto& [key, value] : pairs) {
      if (IsPathSetting(key) && !value.empty() && fs::path(value).is_relative())
        value = (base / value).lexically_normal().string();
      ma.settings[key] = value;
    }
  }
  IDSYNC_ASSIGN(auto types, r.OptTable("object_types"));
  if (!types) return r.ErrorAt("", "needs at least one [ma.NAME.object_types.TYPE] table");
  for (const auto& type_name : types->Keys()) {
    IDSYNC_ASSIGN(auto tr, types->OptTable(type_name));
    IDSYNC_ASSIGN(auto t, ReadMaType(*tr, type_name));
    ma.object_types.push_back(std::move(t));
  }
  IDSYNC_ASSIGN(auto profiles, r.OptTable("run_profiles"));
  if (profiles) {
    for (const auto& pname : profiles->Keys()) {
      IDSYNC_ASSIGN(auto steps, profiles->OptStrings(pname));
      for (const auto& s : *steps)
        if (!IsStepName(s)) return profiles->ErrorAt(pname, fmt::format("unknown step '{}'; steps are {}", s, StepNamesList()));
      ma.run_profiles[pname] = *steps;
    }
  }
  IDSYNC_TRY(r.CheckNoUnknownKeys());
  return ma;
}

Result<MvObjectType> ReadMvType(TomlReader& r, const std::string& name) {
  MvObjectType t;
  t.name = name;
  t.where = r.Where("");
  IDSYNC_ASSIGN(auto attrs, r.OptStrings("attributes"));
  t.attributes = attrs.value_or(std::vector<std::string>{});
  IDSYNC_ASSIGN(auto refs, r.OptStrings("references"));
  t.references = refs.value_or(std::vector<std::string>{});
  IDSYNC_ASSIGN(auto deletion, r.OptString("deletion"));
  std::string d = deletion.value_or("last-connector");
  if (d == "last-connector") t.deletion = DeletionRule::kLastConnector;
  else if (d.starts_with("source:") && d.size() > 7) {
    t.deletion = DeletionRule::kSourceMa;
    t.deletion_ma = d.substr(7);
  } else {
    return r.ErrorAt("deletion", "must be \"last-connector\" or \"source:MA\"");
  }
  IDSYNC_TRY(r.CheckNoUnknownKeys());
  return t;
}

// [[schedule]]: ma, profile and exactly one of every / cron.
Result<Schedule> ReadSchedule(TomlReader& r) {
  Schedule s;
  s.where = r.Where("");
  IDSYNC_ASSIGN(s.ma, r.String("ma"));
  IDSYNC_ASSIGN(s.profile, r.String("profile"));
  IDSYNC_ASSIGN(auto every, r.OptString("every"));
  IDSYNC_ASSIGN(auto cron, r.OptString("cron"));
  if (every.has_value() == cron.has_value())
    return r.ErrorAt("", "needs exactly one of every = \"15m\" (an interval) or cron = \"30 2 * * 1-5\"");
  if (every) {
    auto ms = ParseInterval(*every);
    if (!ms) return r.ErrorAt("every", ms.error().message);
    s.every_ms = *ms;
  } else {
    auto spec = ParseCron(*cron);
    if (!spec) return r.ErrorAt("cron", spec.error().message);
    s.cron = std::move(*spec);
  }
  IDSYNC_TRY(r.CheckNoUnknownKeys());
  return s;
}

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kIo, fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Status MergeDocument(Config& config, const std::string& text, const std::string& file,
                     const std::function<Result<std::string>(const std::string&)>& read_extension) {
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return Fail(ErrorCode::kConfig, fmt::format("{}:{}:{}: {}", file, e.source().begin.line,
                                                e.source().begin.column, e.description()));
  }
  fs::path base = fs::path(file).parent_path();
  if (base.empty()) base = ".";
  base = fs::absolute(base);
  TomlReader r(root, file, "");
  IDSYNC_ASSIGN(auto mv, r.OptTable("metaverse"));
  if (mv) {
    IDSYNC_ASSIGN(auto types, mv->OptTable("object_types"));
    if (types) {
      for (const auto& name : types->Keys()) {
        if (config.FindMvType(name)) return types->ErrorAt(name, "metaverse object type defined twice");
        IDSYNC_ASSIGN(auto tr, types->OptTable(name));
        IDSYNC_ASSIGN(auto t, ReadMvType(*tr, name));
        config.mv_types.push_back(std::move(t));
      }
    }
    IDSYNC_TRY(mv->CheckNoUnknownKeys());
  }
  IDSYNC_ASSIGN(auto prec, r.OptTable("precedence"));
  if (prec) {
    IDSYNC_ASSIGN(auto def, prec->OptStrings("default"));
    if (def) {
      config.precedence_default = *def;
      config.precedence_where = prec->Where("default");
    }
    IDSYNC_ASSIGN(auto attrs, prec->OptTable("attributes"));
    if (attrs) {
      for (const auto& attr : attrs->Keys()) {
        const toml::node* node = attrs->Node(attr);
        Config::AttributePrecedence p;
        p.where = attrs->Where(attr);
        if (node->is_string() && node->as_string()->get() == "equal") {
          p.equal = true;
        } else {
          IDSYNC_ASSIGN(auto order, attrs->OptStrings(attr));
          p.order = *order;
        }
        config.precedence[attr] = p;
      }
    }
    IDSYNC_TRY(prec->CheckNoUnknownKeys());
  }
  IDSYNC_ASSIGN(auto mas, r.OptTable("ma"));
  if (mas) {
    for (const auto& name : mas->Keys()) {
      if (config.FindMa(name)) return mas->ErrorAt(name, "management agent defined twice");
      IDSYNC_ASSIGN(auto mr, mas->OptTable(name));
      IDSYNC_ASSIGN(auto ma, ReadMa(*mr, name, base));
      config.mas.push_back(std::move(ma));
    }
  }
  if (const toml::node* schedules = r.Node("schedule")) {
    const toml::array* list = schedules->as_array();
    if (!list || !list->is_array_of_tables())
      return r.ErrorAt("schedule", "must be written as [[schedule]] tables");
    for (size_t i = 0; i < list->size(); ++i) {
      TomlReader sr(*(*list)[i].as_table(), file, fmt::format("schedule[{}]", i));
      IDSYNC_ASSIGN(auto s, ReadSchedule(sr));
      config.schedules.push_back(std::move(s));
    }
  }
  IDSYNC_ASSIGN(auto exts, r.OptTable("extensions"));
  if (exts) {
    for (const auto& name : exts->Keys()) {
      IDSYNC_ASSIGN(auto er, exts->OptTable(name));
      IDSYNC_ASSIGN(auto ext_file, er->OptString("file"));
      IDSYNC_ASSIGN(auto code, er->OptString("code"));
      if (ext_file.has_value() == code.has_value())
        return er->ErrorAt("", "needs exactly one of file = \"PATH.lua\" or code = '''...'''");
      Extension ext{name, code.value_or("")};
      if (ext_file) {
        auto loaded = read_extension((base / *ext_file).string());
        if (!loaded) return er->ErrorAt("file", loaded.error().message);
        ext.code = *loaded;
      }
      IDSYNC_TRY(er->CheckNoUnknownKeys());
      config.extensions.push_back(std::move(ext));
    }
  }
  return r.CheckNoUnknownKeys();
}

Result<Config> LoadConfigFiles(const std::string& path) {
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it); it.increment(ec))
      if (it->is_regular_file() && it->path().extension() == ".toml") files.push_back(it->path());
    if (ec) return Fail(ErrorCode::kIo, fmt::format("cannot list {}: {}", path, ec.message()));
    std::sort(files.begin(), files.end());
    if (files.empty()) return Fail(ErrorCode::kNotFound, fmt::format("no .toml files in {}", path));
  } else if (fs::exists(path, ec)) {
    files.push_back(path);
  } else {
    return Fail(ErrorCode::kNotFound, fmt::format("configuration {} does not exist", path));
  }
  Config config;
  for (const auto& file : files) {
    IDSYNC_ASSIGN(auto text, ReadFile(file));
    IDSYNC_TRY(MergeDocument(config, text, file.string(), [](const std::string& p) { return ReadFile(p); }));
  }
  IDSYNC_TRY(Validate(config));
  return config;
}

Result<Config> FromDocuments(const std::vector<ConfigDocument>& docs) {
  Config config;
  auto read_extension = [&docs](const std::string& p) -> Result<std::string> {
    std::string name = fs::path(p).lexically_normal().string();
    for (const auto& d : docs)
      if (name.ends_with("/" + d.name) || name == d.name) return d.content;
    return Fail(ErrorCode::kDatabase, "extension document " + p + " is missing from the database");
  };
  for (const auto& d : docs) {
    if (!d.name.ends_with(".toml")) continue;
    auto st = MergeDocument(config, d.content, d.name, read_extension);
    if (!st) return Wrap(st.error(), "stored configuration");
  }
  IDSYNC_TRY(Validate(config));
  return config;
}

}  // namespace idsync
