// connectors/csv/csv_writer: formats CSV rows for export.
//
// A field is quoted only when it has to be: it contains the delimiter, a
// double quote, CR or LF, or starts or ends with a space or tab (the reader
// trims those from unquoted fields). Quotes inside are doubled. No BOM, LF
// line ends.
// Thread-safety: stateless functions.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace idsync {

// Appends `field`, quoted if needed, to `out`.
void AppendCsvField(std::string& out, std::string_view field, char delimiter);

// Appends the fields separated by `delimiter` and a terminating "\n".
void AppendCsvRow(std::string& out, std::span<const std::string> fields, char delimiter);

}  // namespace idsync
