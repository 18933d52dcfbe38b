// rules/text: UTF-8 and date helpers behind the built-in string functions.
// Internal to the rules module.
// Thread-safety: pure functions; the locales they use are created once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace idsync {
namespace rules {

// Number of UTF-8 characters in s. A byte that does not start a valid
// sequence counts as one character, so invalid input is never split inside.
size_t Utf8Length(std::string_view s);

// Byte offset reached by skipping up to n characters of s from byte pos.
size_t Utf8Skip(std::string_view s, size_t pos, uint64_t n);

// Appends s to out in lower or upper case (Unicode simple case mapping;
// invalid bytes are copied unchanged).
void AppendLower(std::string_view s, std::string& out);
void AppendUpper(std::string_view s, std::string& out);

// s without leading and trailing ASCII whitespace.
std::string_view TrimSpace(std::string_view s);

// Parses value with strptime-style in_format and prints it with
// strftime-style out_format, in UTC: the C locale is used for names, a %z
// offset in the input is applied, and the output is UTC. Exactly "%s" as a
// format means seconds since the epoch. Fails with kInvalidArgument naming
// the value and format when the value does not match or is not a real date.
Result<std::string> FormatDate(std::string_view value, const std::string& in_format,
                               const std::string& out_format);

}  // namespace rules
}  // namespace idsync
