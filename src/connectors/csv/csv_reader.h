// connectors/csv/csv_reader: streams the rows of a CSV file, parsed by libcsv.
//
// Adds what libcsv leaves to the caller: a leading UTF-8 BOM is skipped, the
// physical line where each row starts is tracked (libcsv reports neither
// positions nor lines), fields are checked to be UTF-8, and two malformations
// are reported as row errors instead of being absorbed: an unterminated quote
// at end of file, and text after a closing quote ("a"b; reading resumes at
// the next line). A quote inside an unquoted field (a"b) is data.
// As libcsv does by default, spaces and tabs around an unquoted field and
// after a closing quote are trimmed (quote a field to keep them), and blank
// lines are skipped. Rows are handed out as views into a reused buffer:
// no allocation per field.
// Thread-safety: a CsvRowHandler is called on the reading thread only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"

namespace idsync {

struct CsvRow {
  std::span<const std::string_view> fields;  // valid during OnRow only
  uint64_t line = 0;                         // physical line where the row starts (1-based)
  // Set when the row is malformed (invalid UTF-8, bad quoting); the fields
  // are then whatever libcsv produced up to the problem.
  std::string_view error;
};

class CsvRowHandler {
 public:
  virtual ~CsvRowHandler() = default;
  // A non-ok Status stops reading and is returned by ReadCsvFile.
  virtual Status OnRow(const CsvRow& row) = 0;
};

// Reads `path` and calls `handler` for every row, the header included.
// Fails with kIo when the file cannot be opened or read (the open error
// suggests checking the management agent's settings).
Status ReadCsvFile(const std::string& path, char delimiter, CsvRowHandler& handler);

}  // namespace idsync
