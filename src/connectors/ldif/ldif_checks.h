// connectors/ldif/ldif_checks: what idsync checks before handing LDIF text to
// libldap, because libldap would act on it or silently drop it.
//
// - ldif_read_record() follows "include: URL" directives by opening the named
//   file, and ldap_parse_ldif_record() fetches "name:< URL" values; an import
//   must never read files other than the configured one.
// - ldap_parse_ldif_record() skips every line before "dn:" without a word.
// - libldap reports no error text, only LDAP_PARAM_ERROR (and a line on
//   stderr), so the common mistakes get a message here.
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace idsync {

// The UTF-8 byte order mark, skipped at the start of an LDIF file.
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Scans `path` for an "include:" directive in the place where
// ldif_read_record() would follow it (first line of a record). Fails with
// kParse "PATH:LINE: ..." if there is one, kIo if the file cannot be read.
Status CheckNoIncludeDirectives(const std::string& path);

struct RecordShape {
  unsigned long dn_line = 0;  // physical line of the record's first non-comment line
  bool version_only = false;  // the record is just a "version:" line
  std::string error;          // non-empty: the record must be refused, and why
};

// Inspects one record as returned by ldif_read_record() (CRLF already turned
// into LF) whose first byte is on physical line `first_line`.
RecordShape InspectRecord(std::string_view record, unsigned long first_line);

}  // namespace idsync
