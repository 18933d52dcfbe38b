#include "core/clock.h"

#include <ctime>

#include <fmt/format.h>

namespace idsync {
namespace {

std::string Format(std::time_t t, const char* pattern) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, pattern, &tm);
  return buf;
}

}  // namespace

std::string NowUtc() { return Format(std::time(nullptr), "%Y-%m-%dT%H:%M:%SZ"); }

std::string UtcOfMs(int64_t ms) {
  return fmt::format("{}.{:03d}Z", Format(static_cast<std::time_t>(ms / 1000), "%Y-%m-%dT%H:%M:%S"),
                     static_cast<int>(ms % 1000));
}

}  // namespace idsync
