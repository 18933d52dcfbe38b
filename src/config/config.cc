#include <algorithm>

#include "config/config.h"
#include "config/config_internal.h"

namespace idsync {
namespace {

constexpr std::string_view kSteps[] = {
    "full-import", "delta-import", "full-sync", "delta-sync", "export",
    "full-import-full-sync", "full-import-delta-sync", "delta-import-delta-sync",
};

}  // namespace

bool IsStepName(std::string_view step) {
  return std::find(std::begin(kSteps), std::end(kSteps), step) != std::end(kSteps);
}

std::string StepNamesList() {
  std::string out;
  for (auto s : kSteps) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

bool IsPathSetting(std::string_view key) {
  return EqualsIgnoreCase(key, "path") || EqualsIgnoreCase(key, "export_path");
}

const ManagementAgent* Config::FindMa(std::string_view name) const {
  for (const auto& ma : mas)
    if (ma.name == name) return &ma;
  return nullptr;
}

const MvObjectType* Config::FindMvType(std::string_view name) const {
  for (const auto& t : mv_types)
    if (t.name == name) return &t;
  return nullptr;
}

std::optional<int> Config::Rank(std::string_view attribute, std::string_view ma) const {
  const std::vector<std::string>* order = &precedence_default;
  auto it = precedence.find(attribute);
  if (it != precedence.end()) {
    if (it->second.equal) return std::nullopt;
    order = &it->second.order;
  }
  auto pos = std::find(order->begin(), order->end(), ma);
  if (pos != order->end()) return static_cast<int>(pos - order->begin());
  // Not listed: after every listed MA, in name order (an unknown MA after
  // all of them). Counted without building the sorted list: this runs for
  // every flow of every object.
  int unlisted = 0, before = 0;
  bool known = false;
  for (const auto& m : mas) {
    if (std::find(order->begin(), order->end(), m.name) != order->end()) continue;
    ++unlisted;
    if (m.name < ma) ++before;
    if (m.name == ma) known = true;
  }
  return static_cast<int>(order->size()) + (known ? before : unlisted);
}

std::vector<std::string> Config::JoinAttributes() const {
  std::vector<std::string> out;
  for (const auto& ma : mas)
    for (const auto& t : ma.object_types)
      for (const auto& j : t.join)
        if (std::none_of(out.begin(), out.end(), [&](const auto& a) { return EqualsIgnoreCase(a, j.mv_attribute); }))
          out.push_back(j.mv_attribute);
  return out;
}

}  // namespace idsync
