#include "config/schedule.h"

#include <fmt/format.h>

#include <charconv>
#include <ctime>
#include <limits>
#include <vector>

namespace idsync {
namespace {

struct Field {
  const char* name;
  int min, max;
};

constexpr Field kFields[] = {
    {"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7}};

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::optional<int> Number(std::string_view s) {
  int v = 0;
  if (s.empty() || s.size() > 4) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Sets the bits of one field ("*/15", "1-5", "0,30", "10-50/10", "5/20").
Status ParseField(std::string_view cron, std::string_view text, const Field& f, std::vector<bool>& bits) {
  auto bad = [&](std::string_view part, std::string_view why) {
    return Fail(ErrorCode::kInvalidArgument, fmt::format("cron '{}': {} field '{}': {}", cron, f.name, part, why));
  };
  for (std::string_view item : Split(text, ',')) {
    std::string_view range = item;
    int step = 1;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      auto s = Number(item.substr(slash + 1));
      if (!s || *s < 1) return bad(item, "the step after '/' must be a number of 1 or more");
      step = *s;
      range = item.substr(0, slash);
    }
    int lo = f.min, hi = f.max;
    if (range == "*") {
      if (f.max == 7) hi = 6;  // 7 is only another name for Sunday
    } else if (size_t dash = range.find('-'); dash != std::string_view::npos) {
      auto a = Number(range.substr(0, dash)), b = Number(range.substr(dash + 1));
      if (!a || !b) return bad(item, "a range is NUMBER-NUMBER");
      lo = *a;
      hi = *b;
      if (lo > hi) return bad(item, "a range must go from the smaller to the larger value");
    } else {
      auto a = Number(range);
      if (!a) return bad(item, fmt::format("expected *, a number, a range or a list (values {}-{})", f.min, f.max));
      lo = *a;
      // "5/20" means from 5 to the end in steps of 20.
      hi = item.find('/') != std::string_view::npos ? f.max : *a;
    }
    if (lo < f.min || hi > f.max) return bad(item, fmt::format("values must be between {} and {}", f.min, f.max));
    for (int v = lo; v <= hi; v += step) bits[v] = true;
  }
  return {};
}

constexpr int kDaysInMonth[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

bool DayMatches(const CronSpec& spec, const std::tm& tm) {
  bool dom = spec.days[tm.tm_mday], dow = spec.weekdays[tm.tm_wday];
  return spec.any_day || spec.any_weekday ? dom && dow : dom || dow;
}

}  // namespace

Result<CronSpec> ParseCron(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  if (fields.size() != 5)
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("cron '{}': needs five fields (minute hour day-of-month month day-of-week), found {}", text,
                            fields.size()));
  CronSpec spec;
  std::vector<bool> bits[5];
  for (int f = 0; f < 5; ++f) {
    bits[f].assign(kFields[f].max + 1, false);
    IDSYNC_TRY(ParseField(text, fields[f], kFields[f], bits[f]));
    spec.text += (f ? " " : "") + std::string(fields[f]);
  }
  for (int v = 0; v < 60; ++v) spec.minutes[v] = bits[0][v];
  for (int v = 0; v < 24; ++v) spec.hours[v] = bits[1][v];
  for (int v = 1; v <= 31; ++v) spec.days[v] = bits[2][v];
  for (int v = 1; v <= 12; ++v) spec.months[v] = bits[3][v];
  for (int v = 0; v <= 7; ++v)
    if (bits[4][v]) spec.weekdays[v % 7] = true;
  spec.any_day = fields[2].starts_with('*');
  spec.any_weekday = fields[4].starts_with('*');
  // Only a day of month that no chosen month has can make a spec never fire
  // (a restricted day of week widens the days instead).
  if (!spec.any_day && spec.any_weekday) {
    bool possible = false;
    for (int m = 1; m <= 12; ++m)
      for (int d = 1; d <= kDaysInMonth[m]; ++d) possible = possible || (spec.months[m] && spec.days[d]);
    if (!possible)
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("cron '{}': no chosen month has the chosen day of month, so it would never run", text));
  }
  return spec;
}

std::optional<int64_t> NextCronTime(const CronSpec& spec, int64_t after_s) {
  int64_t t = (after_s >= 0 ? after_s / 60 + 1 : after_s / 60) * 60;
  const int64_t limit = after_s + int64_t{8} * 366 * 86400;
  // Jumps to the next month, day or hour that can match; mktime normalises
  // the fields and the daylight saving time change. Every step moves forward.
  auto jump = [&t](std::tm tm) {
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    std::time_t next = std::mktime(&tm);
    t = next > t ? next : t + 60;
  };
  while (t <= limit) {
    std::time_t now = static_cast<std::time_t>(t);
    std::tm tm{};
    localtime_r(&now, &tm);
    if (!spec.months[tm.tm_mon + 1]) {
      tm.tm_mon += 1;
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = 0;
      jump(tm);
    } else if (!DayMatches(spec, tm)) {
      tm.tm_mday += 1;
      tm.tm_hour = tm.tm_min = 0;
      jump(tm);
    } else if (!spec.hours[tm.tm_hour]) {
      tm.tm_hour += 1;
      tm.tm_min = 0;
      jump(tm);
    } else if (!spec.minutes[tm.tm_min]) {
      t += 60;
    } else {
      return t;
    }
  }
  return std::nullopt;
}

Result<int64_t> ParseInterval(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Fail(
        ErrorCode::kInvalidArgument,
        fmt::format("interval '{}': {}; write NUMBER followed by s, m or h, such as \"15m\" or \"1h30m\"", text, why));
  };
  if (text.empty()) return bad("is empty");
  int64_t seconds = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start) return bad(fmt::format("expected a number at '{}'", text.substr(start)));
    if (i - start > 7) return bad("the number is too large");
    if (i == text.size()) return bad("a unit (s, m or h) must follow each number");
    int64_t n = 0;
    std::from_chars(text.data() + start, text.data() + i, n);
    switch (text[i]) {
      case 's':
        seconds += n;
        break;
      case 'm':
        seconds += n * 60;
        break;
      case 'h':
        seconds += n * 3600;
        break;
      default:
        return bad(fmt::format("unknown unit '{}'", text[i]));
    }
    ++i;
  }
  if (seconds < 1) return bad("must be at least one second");
  if (seconds > int64_t{366} * 24 * 3600) return bad("must be at most 8784h (a year)");
  return seconds * 1000;
}

std::string FormatInterval(int64_t ms) {
  int64_t s = ms / 1000;
  std::string out;
  if (s >= 3600) out += fmt::format("{}h", s / 3600);
  if (s % 3600 >= 60) out += fmt::format("{}m", s % 3600 / 60);
  if (s % 60 || out.empty()) out += fmt::format("{}s", s % 60);
  return out;
}

std::string Schedule::Describe() const {
  if (every_ms > 0) return fmt::format("{}/{} every {}", ma, profile, FormatInterval(every_ms));
  return fmt::format("{}/{} cron '{}'", ma, profile, cron.text);
}

int64_t NextDueMs(const Schedule& schedule, std::optional<int64_t> last_run_ms, int64_t since_ms) {
  if (schedule.every_ms > 0) return last_run_ms ? *last_run_ms + schedule.every_ms : since_ms;
  int64_t base = last_run_ms.value_or(since_ms);
  auto next = NextCronTime(schedule.cron, base >= 0 ? base / 1000 : (base - 999) / 1000);
  return next ? *next * 1000 : std::numeric_limits<int64_t>::max();
}

}  // namespace idsync
