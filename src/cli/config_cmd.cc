// `idsync config apply|export`.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "config/config.h"
#include "store/store.h"

namespace idsync {
namespace fs = std::filesystem;

int ConfigApply(const GlobalFlags& g, const std::string& path, bool dry_run) {
  auto config = LoadConfigFiles(path);
  if (!config) return ReportError(config.error());
  auto docs = ToDocuments(*config);
  auto store = OpenStore(g, dry_run);
  if (!store) return ReportError(store.error());
  auto current = (*store)->LoadConfig();
  if (!current) return ReportError(current.error());
  bool same = current->size() == docs.size();
  for (size_t i = 0; same && i < docs.size(); ++i)
    same = (*current)[i].name == docs[i].name && (*current)[i].content == docs[i].content;
  std::string outcome = same ? "unchanged" : dry_run ? "valid" : "applied";
  if (!same && !dry_run) {
    auto st = (*store)->WithWrite([&]() -> Status {
      IDSYNC_TRY((*store)->ReplaceConfig(docs));
      for (const auto& ma : config->mas) IDSYNC_TRY((*store)->EnsureManagementAgent(ma.name));
      return (*store)->SetMeta("config_applied_at", NowUtc());
    });
    if (!st) return ReportError(st.error());
  }
  if (g.json) {
    nlohmann::json j{{"result", outcome}, {"management_agents", config->mas.size()},
                     {"metaverse_object_types", config->mv_types.size()}, {"extensions", config->extensions.size()}};
    std::puts(j.dump().c_str());
  } else {
    std::printf("configuration %s: %zu management agents, %zu metaverse object types, %zu extensions\n",
                outcome.c_str(), config->mas.size(), config->mv_types.size(), config->extensions.size());
  }
  return 0;
}

int ConfigExport(const GlobalFlags& g, const std::string& dir) {
  auto store = OpenStore(g, true);
  if (!store) return ReportError(store.error());
  auto docs = (*store)->LoadConfig();
  if (!docs) return ReportError(docs.error());
  if (docs->empty())
    return ReportError({ErrorCode::kNotFound, "no configuration has been applied yet; nothing to export"});
  for (const auto& d : *docs) {
    fs::path file = fs::path(dir) / d.name;
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    std::string tmp = file.string() + ".tmp";
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << d.content;
    out.close();
    if (!out || std::rename(tmp.c_str(), file.c_str()) != 0)
      return ReportError({ErrorCode::kIo, fmt::format("cannot write {}: {}", file.string(), std::strerror(errno))});
    if (!g.json) std::printf("%s\n", file.c_str());
  }
  if (g.json) std::puts(nlohmann::json{{"result", "exported"}, {"files", docs->size()}}.dump().c_str());
  return 0;
}

}  // namespace idsync
