// `idsync cs search`, `idsync mv search` and `idsync show`.
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "store/store.h"

namespace idsync {
namespace {

nlohmann::json AttrsJson(const AttributeMap& attrs) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : attrs) j[k] = v;
  return j;
}

nlohmann::json CsJson(const CsObject& o, const std::string& ma) {
  nlohmann::json j{{"id", o.id}, {"ma", ma}, {"anchor", o.anchor}, {"dn", o.dn}, {"object_type", o.object_type},
                   {"link", LinkStateName(o.link)}, {"pending_import", PendingImportName(o.pending_import)},
                   {"pending_export", PendingExportName(o.pending_export)}, {"attributes", AttrsJson(o.attrs)}};
  if (o.mv_id) j["mv_id"] = *o.mv_id;
  if (o.pending_export != PendingExport::kNone && o.pending_export != PendingExport::kDelete) {
    j["export_attributes"] = AttrsJson(o.export_attrs);
    if (!o.export_dn.empty()) j["export_dn"] = o.export_dn;
  }
  return j;
}

// "mv:5" -> "-> person 5 (Katherine Johnson)" for people reading `show`.
std::string DescribeReference(Store* store, const std::string& value) {
  if (!store || !value.starts_with("mv:")) return value;
  int64_t id = std::strtoll(value.c_str() + 3, nullptr, 10);
  auto mv = store->GetMv(id);
  if (!mv || !*mv) return value + " (missing)";
  std::string label;
  for (const char* k : {"displayName", "cn", "name", "employeeId"}) {
    label = FirstValue((*mv)->attrs, k);
    if (!label.empty()) break;
  }
  return fmt::format("-> {} {}{}", (*mv)->object_type, id, label.empty() ? "" : " (" + label + ")");
}

void PrintAttrs(const AttributeMap& attrs, const std::string& indent,
                const NameMap<std::string>* contributors = nullptr,
                Store* store = nullptr) {
  for (const auto& [k, values] : attrs) {
    std::string from;
    if (contributors) {
      auto it = contributors->find(k);
      if (it != contributors->end()) from = "  <- " + it->second;
    }
    for (size_t i = 0; i < values.size(); ++i)
      std::printf("%s%-20s %s%s\n", indent.c_str(), i ? "" : k.c_str(), DescribeReference(store, values[i]).c_str(),
                  i ? "" : from.c_str());
  }
}

int ShowMv(const GlobalFlags& g, Store& store, int64_t id) {
  auto mv = store.GetMv(id);
  if (!mv) return ReportError(mv.error());
  if (!*mv) return ReportError({ErrorCode::kNotFound, fmt::format("no metaverse object {}", id)});
  auto links = store.ListCsByMv(id);
  if (!links) return ReportError(links.error());
  if (g.json) {
    nlohmann::json contributors = nlohmann::json::object();
    for (const auto& [k, v] : (*mv)->contributors) contributors[k] = v;
    auto arr = nlohmann::json::array();
    for (const auto& c : *links) arr.push_back(CsJson(c, store.ManagementAgentName(c.ma_id).value_or("")));
    std::puts(nlohmann::json{{"id", id}, {"object_type", (*mv)->object_type}, {"attributes", AttrsJson((*mv)->attrs)},
                             {"contributors", contributors}, {"connectors", arr}}.dump().c_str());
    return 0;
  }
  std::printf("metaverse object %lld (%s)\n", static_cast<long long>(id), (*mv)->object_type.c_str());
  PrintAttrs((*mv)->attrs, "  ", &(*mv)->contributors, &store);
  std::printf("connectors:\n");
  for (const auto& c : *links)
    std::printf("  %-12s %-20s %s  [%s, pending export: %s]\n", store.ManagementAgentName(c.ma_id).value_or("?").c_str(),
                c.anchor.c_str(), c.dn.c_str(), std::string(LinkStateName(c.link)).c_str(),
                std::string(PendingExportName(c.pending_export)).c_str());
  return 0;
}

}  // namespace

int CsSearch(const GlobalFlags& g, const CsSearchOptions& o) {
  auto store = OpenStore(g, true);
  if (!store) return ReportError(store.error());
  auto ma_id = (*store)->FindManagementAgent(o.ma);
  if (!ma_id) return ReportError(ma_id.error());
  if (!*ma_id) return ReportError({ErrorCode::kNotFound, fmt::format("no management agent '{}'", o.ma)});
  std::vector<CsObject> found;
  if (!o.anchor.empty() || !o.dn.empty()) {
    auto one = o.anchor.empty() ? (*store)->FindCsByDn(**ma_id, o.dn) : (*store)->FindCsByAnchor(**ma_id, o.anchor);
    if (!one) return ReportError(one.error());
    if (*one) found.push_back(std::move(**one));
  } else {
    CsQuery q;
    q.ma_id = **ma_id;
    q.pending_import_only = o.pending_import;
    q.pending_export_only = o.pending_export;
    q.disconnectors_only = o.disconnectors;
    q.limit = o.limit;
    auto list = (*store)->ListCs(q);
    if (!list) return ReportError(list.error());
    found = std::move(*list);
  }
  if (g.json) {
    auto arr = nlohmann::json::array();
    for (const auto& c : found) arr.push_back(CsJson(c, o.ma));
    std::puts(arr.dump().c_str());
    return 0;
  }
  for (const auto& c : found) {
    std::printf("%s  %s  [%s; pending import: %s; pending export: %s]\n", c.anchor.c_str(), c.dn.c_str(),
                std::string(LinkStateName(c.link)).c_str(), std::string(PendingImportName(c.pending_import)).c_str(),
                std::string(PendingExportName(c.pending_export)).c_str());
  }
  std::fprintf(stderr, "%zu objects\n", found.size());
  return 0;
}

int MvSearch(const GlobalFlags& g, const std::string& filter, int limit) {
  auto eq = filter.find('=');
  if (eq == std::string::npos || eq == 0)
    return ReportError({ErrorCode::kInvalidArgument, fmt::format("'{}' is not ATTR=VALUE", filter)});
  auto store = OpenStore(g, true);
  if (!store) return ReportError(store.error());
  auto found = (*store)->SearchMv(filter.substr(0, eq), filter.substr(eq + 1), limit);
  if (!found) return ReportError(found.error());
  if (g.json) {
    auto arr = nlohmann::json::array();
    for (const auto& m : *found)
      arr.push_back({{"id", m.id}, {"object_type", m.object_type}, {"attributes", AttrsJson(m.attrs)}});
    std::puts(arr.dump().c_str());
    return 0;
  }
  for (const auto& m : *found) {
    std::printf("%lld (%s)\n", static_cast<long long>(m.id), m.object_type.c_str());
    PrintAttrs(m.attrs, "  ");
  }
  std::fprintf(stderr, "%zu objects\n", found->size());
  return 0;
}

int ShowObject(const GlobalFlags& g, const std::string& kind, const std::vector<std::string>& args) {
  auto store = OpenStore(g, true);
  if (!store) return ReportError(store.error());
  if (kind == "mv" && args.size() == 1) {
    char* end = nullptr;
    long long id = std::strtoll(args[0].c_str(), &end, 10);
    if (!end || *end) return ReportError({ErrorCode::kInvalidArgument, fmt::format("'{}' is not an object id", args[0])});
    return ShowMv(g, **store, id);
  }
  if (kind == "cs" && args.size() == 2) {
    auto ma_id = (*store)->FindManagementAgent(args[0]);
    if (!ma_id) return ReportError(ma_id.error());
    if (!*ma_id) return ReportError({ErrorCode::kNotFound, fmt::format("no management agent '{}'", args[0])});
    auto cs = (*store)->FindCsByAnchor(**ma_id, args[1]);
    if (cs && !*cs) cs = (*store)->FindCsByDn(**ma_id, args[1]);
    if (!cs) return ReportError(cs.error());
    if (!*cs) return ReportError({ErrorCode::kNotFound, fmt::format("no object '{}' in MA '{}'", args[1], args[0])});
    if (g.json) {
      std::puts(CsJson(**cs, args[0]).dump().c_str());
      return 0;
    }
    const CsObject& c = **cs;
    std::printf("connector space object %s in %s\n  dn %s\n  %s; pending import: %s; pending export: %s\n",
                c.anchor.c_str(), args[0].c_str(), c.dn.c_str(), std::string(LinkStateName(c.link)).c_str(),
                std::string(PendingImportName(c.pending_import)).c_str(),
                std::string(PendingExportName(c.pending_export)).c_str());
    PrintAttrs(c.attrs, "  ");
    if (c.pending_export == PendingExport::kAdd || c.pending_export == PendingExport::kUpdate) {
      std::printf("  pending export%s:\n", c.export_dn.empty() ? "" : (" as " + c.export_dn).c_str());
      PrintAttrs(c.export_attrs, "    ");
    }
    if (c.mv_id) {
      std::printf("\n");
      return ShowMv(g, **store, *c.mv_id);
    }
    return 0;
  }
  return ReportError({ErrorCode::kInvalidArgument, "use `idsync show mv ID` or `idsync show cs MA ANCHOR|DN`"});
}

}  // namespace idsync
