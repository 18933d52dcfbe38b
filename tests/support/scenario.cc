#include "tests/support/scenario.h"

#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "store/store.h"
#include "tests/support/dump.h"

namespace idsync {
namespace fs = std::filesystem;
namespace {

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void WriteScenario(const fs::path& cfg, int people) {
  fs::create_directories(cfg / "data");
  fs::create_directories(cfg / "out");
  fs::copy_file(fs::path(IDSYNC_SOURCE_DIR) / "bench" / "config" / "idsync.toml", cfg / "idsync.toml",
                fs::copy_options::overwrite_existing);
  std::ofstream out(cfg / "data" / "hr.csv");
  out << "type,id,givenName,sn,title,department,manager,hireDate,status,member\n";
  std::vector<std::string> members(people / 50 + 1);
  for (int i = 0; i < people; ++i) {
    int id = 100000 + i;
    int dept = i / 50;
    std::string manager = i % 50 == 0 ? "" : std::to_string(100000 + dept * 50);
    out << fmt::format("person,{},Given{},Sn{},Title {},dept-{:04d},{},2020-{:02d}-{:02d},{},\n", id, i % 97, i,
                       i % 13, dept, manager, 1 + i % 12, 1 + i % 28, i % 211 == 0 ? "terminated" : "active");
    members[dept] += (members[dept].empty() ? "" : ";") + std::to_string(id);
  }
  for (size_t d = 0; d < members.size(); ++d)
    if (!members[d].empty()) out << fmt::format("group,dept-{:04d},,,,,,,,{}\n", d, members[d]);
}

std::string ScenarioOutcome(Store& store, const fs::path& cfg) {
  auto mv = DumpMetaverse(store);
  std::string out = mv ? *mv : "metaverse: " + mv.error().message;
  for (const char* ma : {"hr", "directory", "badges"}) {
    auto cs = DumpConnectorSpace(store, ma);
    out += fmt::format("== {}\n{}", ma, cs ? *cs : cs.error().message);
  }
  return out + "== directory.ldif\n" + ReadAll(cfg / "out" / "directory.ldif") + "== badges.csv\n" +
         ReadAll(cfg / "out" / "badges.csv");
}

}  // namespace idsync
