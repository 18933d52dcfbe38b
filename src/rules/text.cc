#include "rules/text.h"

#include <locale.h>
#include <time.h>
#include <wctype.h>

#include <charconv>

namespace idsync {
namespace rules {
namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Decodes the sequence starting at s[i]; returns its length, or 0 when it is
// not valid UTF-8 (truncated, bad continuation, overlong or surrogate).
size_t Decode(std::string_view s, size_t i, char32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t len;
  char32_t min;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if (!IsContinuation(b)) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void Encode(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Case tables come from glibc's built-in C.UTF-8 locale, used through the _l
// functions so the process-wide locale is never consulted or changed.
locale_t Utf8Locale() {
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  return loc;
}

locale_t CLocale() {
  static const locale_t loc = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0));
  return loc;
}

void AppendMapped(std::string_view s, std::string& out, bool upper) {
  out.reserve(out.size() + s.size());
  locale_t loc = Utf8Locale();
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (static_cast<unsigned char>(c) < 0x80) {
      if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      out.push_back(c);
      ++i;
      continue;
    }
    char32_t cp;
    size_t len = Decode(s, i, cp);
    if (len == 0) {
      out.push_back(c);
      ++i;
      continue;
    }
    if (loc != static_cast<locale_t>(0)) {
      cp = static_cast<char32_t>(upper ? towupper_l(static_cast<wint_t>(cp), loc)
                                       : towlower_l(static_cast<wint_t>(cp), loc));
    }
    Encode(cp, out);
    i += len;
  }
}

tl::unexpected<Error> NoMatch(std::string_view value, const std::string& format) {
  return Fail(ErrorCode::kInvalidArgument,
              "'" + std::string(value) + "' does not match date format '" + format + "'");
}

}  // namespace

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) i = Utf8Skip(s, i, 1);
  return n;
}

size_t Utf8Skip(std::string_view s, size_t pos, uint64_t n) {
  while (n > 0 && pos < s.size()) {
    char32_t cp;
    size_t len = Decode(s, pos, cp);
    pos += len == 0 ? 1 : len;
    --n;
  }
  return pos;
}

void AppendLower(std::string_view s, std::string& out) { AppendMapped(s, out, false); }
void AppendUpper(std::string_view s, std::string& out) { AppendMapped(s, out, true); }

std::string_view TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

Result<std::string> FormatDate(std::string_view value, const std::string& in_format,
                               const std::string& out_format) {
  time_t t;
  if (in_format == "%s") {
    // glibc's strptime %s would go through local time; parse it directly.
    int64_t seconds;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || ptr != value.data() + value.size()) return NoMatch(value, in_format);
    t = static_cast<time_t>(seconds);
  } else {
    std::string input(value);
    struct tm parsed = {};
    parsed.tm_mday = 1;  // a format without a day means the first of the month
    const char* end = CLocale() != static_cast<locale_t>(0)
                          ? strptime_l(input.c_str(), in_format.c_str(), &parsed, CLocale())
                          : strptime(input.c_str(), in_format.c_str(), &parsed);
    if (end == nullptr || *end != '\0') return NoMatch(value, in_format);
    struct tm normal = parsed;
    t = timegm(&normal);
    // timegm silently rolls 2024-02-30 over to March; reject such dates.
    if (normal.tm_year != parsed.tm_year || normal.tm_mon != parsed.tm_mon ||
        normal.tm_mday != parsed.tm_mday || normal.tm_hour != parsed.tm_hour ||
        normal.tm_min != parsed.tm_min || normal.tm_sec != parsed.tm_sec) {
      return Fail(ErrorCode::kInvalidArgument, "'" + std::string(value) + "' is not a valid date");
    }
    t -= parsed.tm_gmtoff;  // set by %z; 0 otherwise
  }
  if (out_format == "%s") return std::to_string(static_cast<int64_t>(t));
  struct tm utc = {};
  if (gmtime_r(&t, &utc) == nullptr) {
    return Fail(ErrorCode::kInvalidArgument, "'" + std::string(value) + "' is out of range");
  }
  if (out_format.empty()) return std::string();
  std::string out;
  for (size_t size = 128; size <= 16384; size *= 8) {
    out.resize(size);
    size_t n = CLocale() != static_cast<locale_t>(0)
                   ? strftime_l(out.data(), size, out_format.c_str(), &utc, CLocale())
                   : strftime(out.data(), size, out_format.c_str(), &utc);
    if (n > 0) {
      out.resize(n);
      return out;
    }
  }
  return std::string();  // the format produces no characters
}

}  // namespace rules
}  // namespace idsync
