// config/schedule: when the active service runs a profile by itself.
//
// A schedule names an MA and one of its run profiles and either an interval
// (`every = "15m"`) or cron-like times (`cron = "30 2 * * 1-5"`: minute, hour,
// day of month, month, day of week; `*`, lists, ranges and steps; day of
// week 0-7 with 0 and 7 both Sunday). When day of month and day of week are
// both restricted, a day matches if either does (as cron does). Cron times
// are the server's local time.
//
// Schedules keep no state of their own: the service derives the next due
// time from the start of the profile's last run in the history, so a
// schedule that fell due many times while no server was active runs once.
// Thread-safety: plain values and pure functions (NextCronTime reads the
// process's time zone).
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace idsync {

struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;     // 1..31
  std::bitset<13> months;   // 1..12
  std::bitset<7> weekdays;  // 0..6, Sunday = 0
  bool any_day = true;      // day-of-month field was `*`
  bool any_weekday = true;  // day-of-week field was `*`
  std::string text;         // canonical: the five fields separated by one space
};

// kInvalidArgument naming the field and the bad part when TEXT is not five
// valid fields, or when the times never occur (such as 30 February).
Result<CronSpec> ParseCron(std::string_view text);

// The first whole minute strictly after `after_s` (Unix seconds) that the
// spec matches, in local time; nullopt when none comes within eight years.
std::optional<int64_t> NextCronTime(const CronSpec& spec, int64_t after_s);

// "90s", "15m", "1h30m": one or more NUMBER+UNIT groups with units s, m, h.
// Returns milliseconds; kInvalidArgument for anything else or for less than
// one second.
Result<int64_t> ParseInterval(std::string_view text);
// The canonical spelling of an interval: "1h30m", "45s".
std::string FormatInterval(int64_t ms);

struct Schedule {
  std::string ma;
  std::string profile;
  int64_t every_ms = 0;  // > 0: an interval schedule
  CronSpec cron;         // used when every_ms == 0
  std::string where;     // "FILE:LINE key 'schedule[N]'"

  // "hr/delta-cycle every 15m" or "hr/delta-cycle cron '30 2 * * 1-5'".
  std::string Describe() const;
};

// When a schedule is next due (Unix ms): `last_run_ms` is the start of the
// profile's last run, if any; `since_ms` is when the service started to
// watch it (an interval schedule with no run is due at once; a cron
// schedule with no run waits for its next time after since_ms). A time in
// the past means "due now", once.
int64_t NextDueMs(const Schedule& schedule, std::optional<int64_t> last_run_ms, int64_t since_ms);

}  // namespace idsync
