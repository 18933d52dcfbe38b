// core/clock: wall-clock time as idsync records it (UTC, ISO 8601).
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace idsync {

// Now, to the second: "2026-11-22T13:45:00Z".
std::string NowUtc();

// Unix milliseconds, to the millisecond: "2026-11-22T13:45:00.123Z".
std::string UtcOfMs(int64_t ms);

}  // namespace idsync
