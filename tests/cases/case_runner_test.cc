// Runs every tests/cases/*.test file: a case holds the configuration, the
// input files and the runs, then after `----` the expected results. A line
// `++++` starts another phase (new input, more runs, more expectations).
//
//   === config              TOML, applied with `config apply` semantics
//   === config-error        TOML that must be refused; body: expected message part
//   === file PATH           writes an input file (PATH relative to the config)
//   === run MA PROFILE      runs a profile
//   ----
//   === runs                "MA PROFILE: STATUS" per run of this phase
//   === errors              one line per expected object error (substring of "code: message")
//   === mv                  the whole metaverse (tests/support/dump.h)
//   === cs MA               the whole connector space of MA
//   === file PATH           an output file's exact content
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.h"
#include "engine/runner.h"
#include "store/store.h"
#include "tests/support/dump.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;

struct Section {
  std::string header;  // e.g. "run hr full-import"
  std::string body;
  int line = 0;
  bool expect = false;
};

std::vector<Section> ParseCase(const std::string& text) {
  std::vector<Section> sections;
  std::istringstream in(text);
  std::string line;
  bool expect = false;
  int n = 0;
  Section* cur = nullptr;
  while (std::getline(in, line)) {
    ++n;
    if (line == "----") { expect = true; cur = nullptr; continue; }
    if (line == "++++") { expect = false; cur = nullptr; continue; }
    if (line.rfind("=== ", 0) == 0) {
      sections.push_back({line.substr(4), "", n, expect});
      cur = &sections.back();
      continue;
    }
    if (!cur) continue;  // comments and blank lines between sections
    cur->body += line + "\n";
  }
  return sections;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CaseTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CaseTest, ProducesTheExpectedState) {
  const fs::path file = GetParam();
  TempDir dir;
  fs::path cfg = dir.path() / "config";
  fs::create_directories(cfg / "out");  // where cases write their exports
  // SQLite, or PostgreSQL with IDSYNC_TEST_DB=postgresql (tests/support/test_db.h).
  auto store = Store::Open(FreshTestDbUrl(dir.path()), StoreOptions{.create_if_missing = true});
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_TRUE((*store)->Migrate());

  std::vector<std::string> phase_runs, phase_errors;
  std::vector<int64_t> run_ids;
  for (const auto& s : ParseCase(ReadAll(file))) {
    SCOPED_TRACE(file.filename().string() + ":" + std::to_string(s.line) + " === " + s.header);
    std::istringstream h(s.header);
    std::string verb, a, b;
    h >> verb >> a;
    std::getline(h >> std::ws, b);
    if (!s.expect) {
      if (!phase_runs.empty() && verb != "run") {
        phase_runs.clear();
        run_ids.clear();
      }
      if (verb == "file") {
        fs::create_directories((cfg / a).parent_path());
        std::ofstream(cfg / a, std::ios::binary) << s.body;
      } else if (verb == "config" || verb == "config-error") {
        fs::remove_all(cfg / "idsync.toml");
        std::string toml = verb == "config" ? s.body : "";
        std::string expected_error;
        if (verb == "config-error") {
          auto split = s.body.find("\n--\n");
          ASSERT_NE(split, std::string::npos) << "config-error needs TOML, a line --, and the expected message";
          toml = s.body.substr(0, split + 1);
          expected_error = Trimmed(s.body.substr(split + 4));
        }
        std::ofstream(cfg / "idsync.toml") << toml;
        auto config = LoadConfigFiles(cfg.string());
        if (verb == "config-error") {
          ASSERT_FALSE(config) << "configuration was accepted";
          EXPECT_NE(config.error().message.find(expected_error), std::string::npos) << config.error().message;
          continue;
        }
        ASSERT_TRUE(config) << config.error().message;
        ASSERT_TRUE((*store)->WithWrite([&] { return (*store)->ReplaceConfig(ToDocuments(*config)); }));
      } else if (verb == "run") {
        RunRequest req;
        req.ma = a;
        req.profile = b;
        req.server = "test";
        req.batch_size = 3;  // small batches: many transactions even in small cases
        auto result = RunProfile(**store, req);
        ASSERT_TRUE(result) << result.error().message;
        phase_runs.push_back(a + " " + b + ": " + result->status);
        auto errors = (*store)->ListRunErrors(result->run_id);
        ASSERT_TRUE(errors);
        for (const auto& e : *errors) phase_errors.push_back(e.error + ": " + e.location + ": " + e.message);
      } else {
        FAIL() << "unknown action '" << verb << "'";
      }
      continue;
    }
    if (verb == "runs") {
      std::string got;
      for (const auto& r : phase_runs) got += r + "\n";
      EXPECT_EQ(Trimmed(got), Trimmed(s.body));
    } else if (verb == "errors") {
      std::istringstream lines(s.body);
      std::string want;
      size_t count = 0;
      while (std::getline(lines, want)) {
        if (want.empty()) continue;
        ++count;
        bool found = std::any_of(phase_errors.begin(), phase_errors.end(),
                                 [&](const std::string& e) { return e.find(want) != std::string::npos; });
        EXPECT_TRUE(found) << "no error contains: " << want;
      }
      std::string all;
      for (const auto& e : phase_errors) all += e + "\n";
      EXPECT_EQ(count, phase_errors.size()) << "errors were:\n" << all;
      phase_errors.clear();
    } else if (verb == "mv") {
      auto dump = DumpMetaverse(**store);
      ASSERT_TRUE(dump) << dump.error().message;
      EXPECT_EQ(Trimmed(*dump), Trimmed(s.body));
    } else if (verb == "cs") {
      auto dump = DumpConnectorSpace(**store, a);
      ASSERT_TRUE(dump) << dump.error().message;
      EXPECT_EQ(Trimmed(*dump), Trimmed(s.body));
    } else if (verb == "file") {
      ASSERT_TRUE(fs::exists(cfg / a)) << a << " was not written";
      EXPECT_EQ(Trimmed(ReadAll(cfg / a)), Trimmed(s.body));
    } else if (verb == "no-file") {
      EXPECT_FALSE(fs::exists(cfg / a)) << a << " exists";
    } else {
      FAIL() << "unknown expectation '" << verb << "'";
    }
  }
}

std::vector<std::string> CaseFiles() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(IDSYNC_SOURCE_DIR) / "tests" / "cases"))
    if (e.path().extension() == ".test") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  for (auto& c : name)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, CaseTest, ::testing::ValuesIn(CaseFiles()), CaseName);

}  // namespace
}  // namespace idsync
