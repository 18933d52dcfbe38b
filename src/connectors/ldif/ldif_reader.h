// connectors/ldif/ldif_reader: reads the records of an LDIF file (RFC 2849)
// with libldap's LDIF support (ldif_read_record + ldap_parse_ldif_record).
//
// Each record becomes an ImportRecord with `location` "PATH:LINE" (the line
// of its "dn:"), `object_type` left empty:
//   content record or changetype add -> kFull (dn, attrs)
//   changetype modify                -> kModify (changes; "delete: a" without
//                                       values deletes the whole attribute)
//   changetype delete                -> kDelete
//   changetype modrdn / moddn        -> kRename (new_dn from newrdn and
//                                       newsuperior or the old parent)
// Base64 values are decoded (binary safe); attribute names keep their
// spelling; folded lines and comments are handled by libldap.
// Refused, as an OnRecordError for that record: values read from URLs
// (":<", which libldap would fetch), lines before "dn:", "increment:"
// modifications, records libldap cannot parse. The whole read fails with kParse
// for an "include:" directive (libldap would open the named file), with kIo
// when the file cannot be read.
// Known libldap quirk: on a record it cannot parse, ldap_parse_ldif_record
// also prints a line to stderr ("PATH: invalid format (line N) ...") whatever
// the debug level; there is no option to silence it.
// Thread-safety: libldap's LDIF reader keeps no global state; one file per call.
#pragma once

#include <string>

#include "connectors/connector.h"

namespace idsync {

// Reads `path` and hands every record to `sink` in file order. A non-ok
// Status from the sink stops the read and is returned.
Status ReadLdifFile(const std::string& path, ImportSink& sink);

}  // namespace idsync
