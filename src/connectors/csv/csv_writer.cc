#include "connectors/csv/csv_writer.h"

#include <csv.h>

namespace idsync {
namespace {

bool IsEdgeSpace(char c) { return c == ' ' || c == '\t'; }

bool NeedsQuotes(std::string_view field, char delimiter) {
  if (field.empty()) return false;
  if (IsEdgeSpace(field.front()) || IsEdgeSpace(field.back())) return true;
  for (char c : field) {
    if (c == delimiter || c == '"' || c == '\r' || c == '\n') return true;
  }
  return false;
}

}  // namespace

void AppendCsvField(std::string& out, std::string_view field, char delimiter) {
  if (!NeedsQuotes(field, delimiter)) {
    out.append(field);
    return;
  }
  // libcsv's csv_write() quotes and doubles embedded quotes; call it once to
  // size the output and once to fill it.
  size_t needed = csv_write(nullptr, 0, field.data(), field.size());
  size_t at = out.size();
  out.resize(at + needed);
  csv_write(out.data() + at, needed, field.data(), field.size());
}

void AppendCsvRow(std::string& out, std::span<const std::string> fields, char delimiter) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(delimiter);
    AppendCsvField(out, fields[i], delimiter);
  }
  out.push_back('\n');
}

}  // namespace idsync
