#include "tests/support/dump.h"

#include <algorithm>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "store/store.h"

namespace idsync {
namespace {

std::string Quote(const std::string& v) {
  bool plain = !v.empty() && v.find_first_of(" \"\t\n\\") == std::string::npos;
  if (plain) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out + "\"";
}

std::string Attrs(const AttributeMap& attrs, const std::map<int64_t, std::string>& keys) {
  std::string out;
  for (const auto& [name, values] : attrs) {
    std::vector<std::string> shown;
    for (const auto& v : values) {
      if (v.starts_with("mv:")) {
        auto it = keys.find(std::strtoll(v.c_str() + 3, nullptr, 10));
        shown.push_back(it == keys.end() ? "@missing" : "@" + it->second);
      } else {
        shown.push_back(Quote(v));
      }
    }
    std::sort(shown.begin(), shown.end());
    for (const auto& v : shown) out += " " + name + "=" + v;
  }
  return out;
}

Result<std::vector<MvObject>> AllMv(Store& store) {
  std::vector<MvObject> all;
  IDSYNC_ASSIGN(Statement * st, store.db().Prepare("SELECT id FROM mv_objects ORDER BY id"));
  std::vector<int64_t> ids;
  while (true) {
    IDSYNC_ASSIGN(bool row, st->Step());
    if (!row) break;
    ids.push_back(st->ColumnInt(0));
  }
  st->Reset();
  for (int64_t id : ids) {
    IDSYNC_ASSIGN(auto mv, store.GetMv(id));
    if (mv) all.push_back(std::move(*mv));
  }
  return all;
}

// A readable, stable name for each MV object: its first well-known key
// attribute, else its first attribute value.
Result<std::map<int64_t, std::string>> MvKeys(Store& store, const std::vector<MvObject>& all) {
  std::map<int64_t, std::string> keys;
  for (const auto& mv : all) {
    std::string key;
    for (const char* k : {"employeeId", "cn", "uid", "name", "id"}) {
      key = FirstValue(mv.attrs, k);
      if (!key.empty()) break;
    }
    if (key.empty()) key = mv.attrs.empty() ? "?" : mv.attrs.begin()->second.front();
    keys[mv.id] = mv.object_type + ":" + key;
  }
  return keys;
}

}  // namespace

Result<std::string> DumpMetaverse(Store& store) {
  IDSYNC_ASSIGN(auto all, AllMv(store));
  IDSYNC_ASSIGN(auto keys, MvKeys(store, all));
  std::vector<std::string> lines;
  for (const auto& mv : all) lines.push_back(mv.object_type + Attrs(mv.attrs, keys));
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

Result<std::string> DumpConnectorSpace(Store& store, const std::string& ma) {
  IDSYNC_ASSIGN(auto ma_id, store.FindManagementAgent(ma));
  if (!ma_id) return std::string();
  IDSYNC_ASSIGN(auto all, AllMv(store));
  IDSYNC_ASSIGN(auto keys, MvKeys(store, all));
  CsQuery q;
  q.ma_id = *ma_id;
  q.limit = 1 << 30;
  IDSYNC_ASSIGN(auto objects, store.ListCs(q));
  std::vector<std::string> lines;
  for (const auto& o : objects) {
    std::string line = fmt::format("{} dn={} link={} import={} export={}", Quote(o.anchor), Quote(o.dn),
                                   LinkStateName(o.link), PendingImportName(o.pending_import),
                                   PendingExportName(o.pending_export));
    if (o.mv_id) {
      auto it = keys.find(*o.mv_id);
      line += " mv=@" + (it == keys.end() ? std::string("missing") : it->second);
    }
    line += Attrs(o.attrs, keys);
    if (o.pending_export == PendingExport::kAdd || o.pending_export == PendingExport::kUpdate) {
      line += " |";
      if (!o.export_dn.empty()) line += " newdn=" + Quote(o.export_dn);
      line += Attrs(o.export_attrs, keys);
    }
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace idsync
