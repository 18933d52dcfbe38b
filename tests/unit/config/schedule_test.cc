// Schedules: interval and cron parsing, next due times, and the
// [[schedule]] tables of the configuration (validation, canonical export).
#include "config/schedule.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <fstream>

#include "config/config.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"

namespace idsync {
namespace {

// Cron times are local; the tests pin the zone so expected times are fixed.
class UtcZone : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = getenv("TZ");
    saved_ = tz ? std::optional<std::string>(tz) : std::nullopt;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (saved_)
      setenv("TZ", saved_->c_str(), 1);
    else
      unsetenv("TZ");
    tzset();
  }
  std::optional<std::string> saved_;
};

// 2026-03-02T10:17:00Z is a Monday.
constexpr int64_t kMonday1017 = 1772446620;

int64_t Next(std::string_view cron, int64_t after) {
  auto spec = ParseCron(cron);
  EXPECT_TRUE(spec) << (spec ? "" : spec.error().message);
  auto next = NextCronTime(*spec, after);
  EXPECT_TRUE(next.has_value());
  return next.value_or(-1);
}

TEST(IntervalTest, UnitsAddUpAndPrintCanonically) {
  EXPECT_EQ(*ParseInterval("15m"), 15 * 60 * 1000);
  EXPECT_EQ(*ParseInterval("1h30m"), 90 * 60 * 1000);
  EXPECT_EQ(*ParseInterval("2s"), 2000);
  EXPECT_EQ(FormatInterval(*ParseInterval("90m")), "1h30m");
  EXPECT_EQ(FormatInterval(*ParseInterval("3600s")), "1h");
  EXPECT_EQ(FormatInterval(*ParseInterval("61s")), "1m1s");
}

TEST(IntervalTest, MalformedIntervalsNameTheProblem) {
  for (const char* bad : {"", "15", "m", "15x", "1.5h", "-5m", "0s", "99999999h", "15 m"}) {
    auto r = ParseInterval(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("interval '"), std::string::npos) << r.error().message;
  }
}

TEST_F(UtcZone, CronFindsTheNextMatchingMinuteStrictlyAfter) {
  EXPECT_EQ(Next("* * * * *", kMonday1017), kMonday1017 + 60);
  EXPECT_EQ(Next("30 10 * * *", kMonday1017), kMonday1017 + 13 * 60);
  EXPECT_EQ(Next("*/15 * * * *", kMonday1017), kMonday1017 + 13 * 60);  // 10:30
  EXPECT_EQ(Next("0,20,40 * * * *", kMonday1017), kMonday1017 + 3 * 60);
  EXPECT_EQ(Next("17 10 * * *", kMonday1017), kMonday1017 + 86400);  // not the same minute
  EXPECT_EQ(Next("0 9 * * *", kMonday1017), kMonday1017 + 86400 - 77 * 60);
}

TEST_F(UtcZone, CronWeekdaysMonthsAndRanges) {
  // Saturday 2026-03-07 02:30.
  EXPECT_EQ(Next("30 2 * * 6", kMonday1017), 1772850600);
  // Monday to Friday at 02:30: Tuesday.
  EXPECT_EQ(Next("30 2 * * 1-5", kMonday1017), 1772505000);
  // Sunday as 7 and as 0.
  EXPECT_EQ(Next("0 0 * * 7", kMonday1017), Next("0 0 * * 0", kMonday1017));
  // First of April at midnight.
  EXPECT_EQ(Next("0 0 1 4 *", kMonday1017), 1775001600);
  // 29 February: the next leap year.
  EXPECT_EQ(Next("0 0 29 2 *", kMonday1017), 1835395200);  // 2028-02-29
  // Steps over a range: 10:40, 10:50.
  EXPECT_EQ(Next("40-59/10 10 * * *", kMonday1017), kMonday1017 + 23 * 60);
}

TEST_F(UtcZone, CronDayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // The 15th or any Friday: Friday 2026-03-06 comes first.
  EXPECT_EQ(Next("0 0 15 * 5", kMonday1017), 1772755200);
  // With day of week `*`, only the 15th.
  EXPECT_EQ(Next("0 0 15 * *", kMonday1017), 1773532800);
}

TEST(CronTest, MalformedSpecsNameTheField) {
  struct Case {
    const char* cron;
    const char* message;
  };
  for (const auto& c : std::vector<Case>{{"* * * *", "needs five fields"},
                                         {"60 * * * *", "minute field '60'"},
                                         {"* 24 * * *", "hour field '24'"},
                                         {"* * 0 * *", "day of month field '0'"},
                                         {"* * * 13 *", "month field '13'"},
                                         {"* * * * 8", "day of week field '8'"},
                                         {"*/0 * * * *", "step"},
                                         {"5-1 * * * *", "smaller to the larger"},
                                         {"a * * * *", "expected *"},
                                         {"1,,2 * * * *", "minute field ''"},
                                         {"0 0 30 2 *", "never run"},
                                         {"0 0 31 4,6,9,11 *", "never run"}}) {
    auto r = ParseCron(c.cron);
    ASSERT_FALSE(r) << c.cron;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.cron << ": " << r.error().message;
  }
}

TEST(CronTest, CanonicalTextCollapsesSpaces) { EXPECT_EQ(ParseCron("  30  2 *\t* 1-5 ")->text, "30 2 * * 1-5"); }

TEST_F(UtcZone, NextDueRunsOverdueSchedulesOnceAndThenKeepsTime) {
  Schedule every{"hr", "delta", 15 * 60 * 1000, {}, ""};
  int64_t now = kMonday1017 * 1000;
  EXPECT_EQ(NextDueMs(every, std::nullopt, now), now);  // never ran: due at once
  EXPECT_EQ(NextDueMs(every, now - 5 * 60 * 1000, now), now + 10 * 60 * 1000);
  // Three days without a run: due now (once), not 288 times.
  EXPECT_LT(NextDueMs(every, now - 3 * 86400 * 1000, now), now);

  Schedule cron{"hr", "full", 0, *ParseCron("30 2 * * *"), ""};
  // Never ran: waits for 02:30 after it started watching.
  EXPECT_EQ(NextDueMs(cron, std::nullopt, now), 1772505000 * int64_t{1000});
  // Last ran two days ago: the missed 02:30 is due now.
  EXPECT_LT(NextDueMs(cron, now - 2 * 86400 * 1000, now), now);
}

class ScheduleConfigTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const std::string& schedules) {
    auto file = dir_.path() / "idsync.toml";
    std::ofstream(dir_.path() / "hr.csv") << "id\n";
    std::ofstream(file) << R"([metaverse.object_types.person]
attributes = ["id"]
[ma.hr]
connector = "csv"
settings = { path = "hr.csv" }
[ma.hr.object_types.person]
mv_object_type = "person"
anchor = "id"
attributes = ["id"]
[ma.hr.run_profiles]
"delta-cycle" = ["delta-import", "delta-sync"]
)" << schedules;
    return file;
  }
  std::string Error(const std::string& schedules) {
    auto r = LoadConfigFiles(Write(schedules).string());
    return r ? std::string("(loaded)") : r.error().message;
  }
  TempDir dir_;
};

TEST_F(ScheduleConfigTest, SchedulesLoadAndExportCanonically) {
  auto config = LoadConfigFiles(Write(R"(
[[schedule]]
ma = "hr"
profile = "delta-cycle"
every = "90m"

[[schedule]]
ma = "hr"
profile = "full-import"
cron = "30  2 * * 1-5"
)")
                                    .string());
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->schedules.size(), 2u);
  EXPECT_EQ(config->schedules[0].Describe(), "hr/delta-cycle every 1h30m");
  EXPECT_EQ(config->schedules[1].Describe(), "hr/full-import cron '30 2 * * 1-5'");
  EXPECT_NE(config->schedules[0].where.find("idsync.toml:13 key 'schedule[0]'"), std::string::npos)
      << config->schedules[0].where;

  auto docs = ToDocuments(*config);
  EXPECT_NE(docs[0].content.find("[[schedule]]"), std::string::npos) << docs[0].content;
  EXPECT_NE(docs[0].content.find("every = '1h30m'"), std::string::npos) << docs[0].content;
  auto again = FromDocuments(docs);
  ASSERT_TRUE(again) << again.error().message;
  auto docs2 = ToDocuments(*again);
  ASSERT_EQ(docs2.size(), docs.size());
  EXPECT_EQ(docs2[0].content, docs[0].content);
}

TEST_F(ScheduleConfigTest, BadSchedulesNameFileLineAndKey) {
  EXPECT_NE(Error("[[schedule]]\nma = \"hr\"\nprofile = \"delta-cycle\"\n")
                .find("idsync.toml:12: key 'schedule[0]': needs exactly one of every"),
            std::string::npos)
      << Error("[[schedule]]\nma = \"hr\"\nprofile = \"delta-cycle\"\n");
  EXPECT_NE(Error("[[schedule]]\nma = \"hr\"\nprofile = \"delta-cycle\"\nevery = \"1m\"\ncron = \"* * * * *\"\n")
                .find("needs exactly one of"),
            std::string::npos);
  EXPECT_NE(Error("[[schedule]]\nma = \"hr\"\nprofile = \"delta-cycle\"\nevery = \"15\"\n")
                .find("idsync.toml:15: key 'schedule[0].every': interval '15'"),
            std::string::npos);
  EXPECT_NE(Error("[[schedule]]\nma = \"hr\"\nprofile = \"delta-cycle\"\ncron = \"61 * * * *\"\n")
                .find("key 'schedule[0].cron': cron '61 * * * *': minute field '61'"),
            std::string::npos);
  EXPECT_NE(Error("[[schedule]]\nma = \"hr\"\nprofile = \"delta-cycle\"\nevery = \"1m\"\nevry = \"2m\"\n")
                .find("idsync.toml:16: key 'schedule[0].evry': unknown key"),
            std::string::npos);
  EXPECT_NE(Error("[[schedule]]\nma = \"payroll\"\nprofile = \"delta-cycle\"\nevery = \"1m\"\n")
                .find("'payroll' is not a management agent"),
            std::string::npos);
  EXPECT_NE(Error("[[schedule]]\nma = \"hr\"\nprofile = \"nightly\"\nevery = \"1m\"\n")
                .find("'nightly' is neither a run profile of MA 'hr' nor a step name"),
            std::string::npos);
  EXPECT_NE(Error("[schedule]\nma = \"hr\"\n").find("must be written as [[schedule]] tables"), std::string::npos)
      << Error("[schedule]\nma = \"hr\"\n");
  std::string twice = "[[schedule]]\nma = \"hr\"\nprofile = \"delta-cycle\"\nevery = \"60s\"\n";
  EXPECT_NE(Error(twice + "[[schedule]]\nma = \"hr\"\nprofile = \"delta-cycle\"\nevery = \"1m\"\n")
                .find("the same schedule is already written at"),
            std::string::npos);
}

}  // namespace
}  // namespace idsync
