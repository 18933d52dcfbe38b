#include "connectors/csv/csv_connector.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>

#include "connectors/csv/csv_reader.h"
#include "connectors/csv/csv_writer.h"
#include "connectors/file_util.h"

namespace idsync {
namespace {

constexpr ConnectorSetting kCsvSettings[] = {
    {"path", true, "the CSV file, relative to the configuration file's directory"},
    {"delimiter", false, "one ASCII character separating fields (default ','); '\\t' or 'tab' for tab"},
    {"multi_value_separator", false,
     "when set, a field holds several values separated by this string (export joins with it)"},
    {"object_type", false, "the object type of every row (default: the first object type)"},
    {"object_type_column", false, "a column whose value names each row's object type"},
};

Result<char> ParseDelimiter(const ConnectorConfig& config, const std::string& value) {
  if (value == "\\t" || EqualsIgnoreCase(value, "tab")) return '\t';
  if (value.size() != 1 || static_cast<unsigned char>(value[0]) >= 0x80) {
    return tl::unexpected(ConnectorSettingError(
        config, "delimiter", "must be one ASCII character, '\\t' or 'tab', not '" + value + "'"));
  }
  char c = value[0];
  if (c == '"' || c == '\r' || c == '\n') {
    return tl::unexpected(
        ConnectorSettingError(config, "delimiter", "cannot be a double quote or a line break"));
  }
  return c;
}

// Appends `piece` with its length in front, so that no two different
// sequences of pieces append the same bytes.
void AppendPiece(std::string& out, std::string_view piece) {
  uint64_t n = piece.size();
  char length[8];  // little-endian, whatever the machine's order
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out.append(length, sizeof length);
  out.append(piece);
}

// Turns the rows after the header into ImportRecords.
class CsvImport final : public CsvRowHandler {
 public:
  CsvImport(const CsvOptions& options, ImportSink& sink)
      : options_(options), sink_(sink), digest_context_(sink.DigestContext()) {}

  Status OnRow(const CsvRow& row) override {
    if (!have_header_) return ReadHeader(row);
    std::string location = options_.path + ":" + std::to_string(row.line);
    if (!row.error.empty()) return sink_.OnRecordError(location, std::string(row.error));
    if (row.fields.size() > header_.size()) {
      return sink_.OnRecordError(
          location, "row has " + std::to_string(row.fields.size()) + " fields but the header has " +
                        std::to_string(header_.size()) + "; quote fields that contain the delimiter");
    }
    ImportRecord record;
    record.kind = ImportRecord::Kind::kFull;
    record.object_type = options_.object_type;
    if (type_column_) {
      std::string_view type = *type_column_ < row.fields.size() ? row.fields[*type_column_] : "";
      auto it = std::find_if(options_.object_types.begin(), options_.object_types.end(),
                             [&](const std::string& t) { return EqualsIgnoreCase(t, type); });
      if (it == options_.object_types.end()) {
        return sink_.OnRecordError(location, "column '" + options_.object_type_column + "' holds '" +
                                                 std::string(type) + "', which is not an object type of this agent");
      }
      record.object_type = *it;
    }
    if (!digest_context_.empty()) {
      RecordDigest digest = Digest(row);
      IDSYNC_ASSIGN(bool unchanged, sink_.OnUnchanged(digest, location));
      if (unchanged) return {};
      record.digest = digest;
    }
    record.location = std::move(location);
    // Columns in map order, so every insert goes at the end: no searching.
    for (size_t column : sorted_columns_) {
      if (column >= row.fields.size() || row.fields[column].empty()) continue;
      Values values = SplitValues(row.fields[column]);
      if (!values.empty()) record.attrs.emplace_hint(record.attrs.end(), header_[column], std::move(values));
    }
    return sink_.OnRecord(std::move(record));
  }

 private:
  Status ReadHeader(const CsvRow& row) {
    have_header_ = true;
    std::string where = options_.path + ":" + std::to_string(row.line);
    if (!row.error.empty()) return Fail(ErrorCode::kParse, where + ": header row: " + std::string(row.error));
    for (size_t i = 0; i < row.fields.size(); ++i) {
      std::string_view name = row.fields[i];
      std::string column = "column " + std::to_string(i + 1);
      if (name.empty()) {
        return Fail(ErrorCode::kParse,
                    where + ": " + column + " of the header has no name; every column needs one");
      }
      for (size_t j = 0; j < i; ++j) {
        if (EqualsIgnoreCase(header_[j], name)) {
          return Fail(ErrorCode::kParse, where + ": " + column + " of the header repeats the name '" +
                                             std::string(name) + "' of column " + std::to_string(j + 1) +
                                             " (names compare case-insensitively)");
        }
      }
      header_.emplace_back(name);
    }
    if (!options_.object_type_column.empty()) {
      auto it = std::find_if(header_.begin(), header_.end(),
                             [&](const std::string& h) { return EqualsIgnoreCase(h, options_.object_type_column); });
      if (it == header_.end()) {
        return Fail(ErrorCode::kParse, where + ": the header has no column '" + options_.object_type_column +
                                           "' (named by the setting object_type_column)");
      }
      type_column_ = static_cast<size_t>(it - header_.begin());
    }
    sorted_columns_.resize(header_.size());
    std::iota(sorted_columns_.begin(), sorted_columns_.end(), 0);
    std::sort(sorted_columns_.begin(), sorted_columns_.end(),
              [&](size_t a, size_t b) { return CaseInsensitiveLess()(header_[a], header_[b]); });
    if (!digest_context_.empty()) return StartDigests();
    return {};
  }

  // The part every row's digest shares: the sink's context, each setting
  // that changes what a row becomes, and the header.
  Status StartDigests() {
    if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "cannot initialise libsodium");
    std::string shared;
    AppendPiece(shared, digest_context_);
    AppendPiece(shared, "csv 1");
    AppendPiece(shared, std::string_view(&options_.delimiter, 1));
    AppendPiece(shared, options_.multi_value_separator);
    AppendPiece(shared, options_.object_type);
    AppendPiece(shared, options_.object_type_column);
    for (const auto& t : options_.object_types) AppendPiece(shared, t);
    AppendPiece(shared, "header");
    for (const auto& h : header_) AppendPiece(shared, h);
    crypto_generichash_init(&shared_state_, nullptr, 0, std::tuple_size_v<RecordDigest>);
    crypto_generichash_update(&shared_state_, reinterpret_cast<const unsigned char*>(shared.data()), shared.size());
    return {};
  }

  RecordDigest Digest(const CsvRow& row) {
    // The bytes AppendPiece would give, written in one pass.
    size_t total = 0;
    for (std::string_view f : row.fields) total += 8 + f.size();
    fields_.resize(total);
    char* out = fields_.data();
    for (std::string_view f : row.fields) {
      for (int i = 0; i < 8; ++i) *out++ = static_cast<char>((uint64_t{f.size()} >> (8 * i)) & 0xff);
      std::memcpy(out, f.data(), f.size());
      out += f.size();
    }
    crypto_generichash_state state = shared_state_;
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(fields_.data()), fields_.size());
    RecordDigest digest;
    crypto_generichash_final(&state, digest.data(), digest.size());
    return digest;
  }

  Values SplitValues(std::string_view field) const {
    const std::string& sep = options_.multi_value_separator;
    if (sep.empty()) return Values{std::string(field)};
    Values values;
    for (;;) {
      size_t at = field.find(sep);
      std::string_view piece = field.substr(0, at);
      if (!piece.empty()) values.emplace_back(piece);
      if (at == std::string_view::npos) break;
      field.remove_prefix(at + sep.size());
    }
    return values;
  }

  const CsvOptions& options_;
  ImportSink& sink_;
  bool have_header_ = false;
  std::vector<std::string> header_;
  std::vector<size_t> sorted_columns_;
  std::optional<size_t> type_column_;
  std::string digest_context_;  // empty: the sink takes no digests
  crypto_generichash_state shared_state_;
  std::string fields_;  // the row being digested, reused
};

}  // namespace

std::span<const ConnectorSetting> CsvSettings() { return kCsvSettings; }

Result<CsvOptions> ParseCsvOptions(const ConnectorConfig& config) {
  CsvOptions options;
  auto setting = [&](std::string_view key) -> const std::string* {
    auto it = config.settings.find(key);
    return it == config.settings.end() ? nullptr : &it->second;
  };
  const std::string* path = setting("path");
  if (path == nullptr || path->empty()) {
    return tl::unexpected(
        ConnectorSettingError(config, "path", "is required: the CSV file to read and write"));
  }
  options.path = ResolvePath(config.base_dir, *path);
  if (const std::string* d = setting("delimiter")) {
    IDSYNC_ASSIGN(options.delimiter, ParseDelimiter(config, *d));
  }
  if (const std::string* sep = setting("multi_value_separator")) {
    if (sep->empty()) {
      return tl::unexpected(ConnectorSettingError(config, "multi_value_separator",
                                                  "is empty; remove it for single-valued fields"));
    }
    if (sep->find_first_of(std::string("\"\r\n") + options.delimiter) != std::string::npos) {
      return tl::unexpected(ConnectorSettingError(
          config, "multi_value_separator", "cannot contain the delimiter, a double quote or a line break"));
    }
    options.multi_value_separator = *sep;
  }
  if (config.object_types.empty()) {
    return Fail(ErrorCode::kConfig, "management agent '" + config.ma_name + "' has no object types");
  }
  const ConnectorObjectType* type = &config.object_types.front();
  if (const std::string* name = setting("object_type")) {
    auto it = std::find_if(config.object_types.begin(), config.object_types.end(),
                           [&](const ConnectorObjectType& t) { return EqualsIgnoreCase(t.name, *name); });
    if (it == config.object_types.end()) {
      std::string known;
      for (const auto& t : config.object_types) known += (known.empty() ? "" : ", ") + t.name;
      return tl::unexpected(ConnectorSettingError(
          config, "object_type",
          "names '" + *name + "', which is not an object type of this agent (" + known + ")"));
    }
    type = &*it;
  }
  options.object_type = type->name;
  options.columns = type->attributes;
  if (const std::string* column = setting("object_type_column")) {
    if (column->empty())
      return tl::unexpected(ConnectorSettingError(config, "object_type_column", "is empty; name a column"));
    options.object_type_column = *column;
    // One file holds every type: its columns are the type column and then
    // every type's attributes, in order of first appearance.
    options.columns = {*column};
    for (const auto& t : config.object_types) {
      options.object_types.push_back(t.name);
      for (const auto& a : t.attributes)
        if (std::none_of(options.columns.begin(), options.columns.end(),
                         [&](const std::string& c) { return EqualsIgnoreCase(c, a); }))
          options.columns.push_back(a);
    }
  }
  return options;
}

Status CsvConnector::FullImport(ImportSink& sink) {
  CsvImport import(options_, sink);
  return ReadCsvFile(options_.path, options_.delimiter, import);
}

Status CsvConnector::DeltaImport(ImportSink&) {
  return Fail(ErrorCode::kUnsupported, "a CSV file has no change log; use a full import");
}

Result<std::unique_ptr<ExportSession>> CsvConnector::BeginExport(int64_t) {
  return Fail(ErrorCode::kUnsupported, "the CSV connector exports snapshots, not change records");
}

Status CsvConnector::ExportSnapshot(const SnapshotSource& next) {
  const auto& columns = options_.columns;
  if (columns.empty()) {
    return Fail(ErrorCode::kConfig, "object type '" + options_.object_type +
                                        "' lists no attributes; they are the CSV export's columns");
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (columns[i].empty() || EqualsIgnoreCase(columns[i], columns[j])) {
        return Fail(ErrorCode::kConfig, "object type '" + options_.object_type +
                                            "' has an empty or repeated attribute name '" + columns[i] +
                                            "'; CSV columns must be unique");
      }
    }
  }
  const std::string& sep = options_.multi_value_separator;
  IDSYNC_ASSIGN(AtomicFileWriter writer, AtomicFileWriter::Create(options_.path));
  std::string line;
  AppendCsvRow(line, columns, options_.delimiter);
  IDSYNC_TRY(writer.Append(line));

  std::vector<std::string> fields(columns.size());
  SnapshotObject object;
  while (true) {
    // An error of `next` returns before Commit(): the writer removes its
    // temporary file and the old file stays.
    IDSYNC_ASSIGN(bool more, next(object));
    if (!more) break;
    for (size_t i = 0; i < columns.size(); ++i) {
      fields[i].clear();
      if (!options_.object_type_column.empty() && i == 0) {
        fields[i] = object.object_type;
        continue;
      }
      auto it = object.attrs.find(columns[i]);
      if (it == object.attrs.end()) continue;
      const Values& values = it->second;
      if (values.size() > 1 && sep.empty()) {
        return Fail(ErrorCode::kConfig,
                    "object '" + object.anchor + "' has " + std::to_string(values.size()) + " values of '" +
                        columns[i] +
                        "' but the CSV agent has no multi_value_separator to join them; set one");
      }
      for (size_t v = 0; v < values.size(); ++v) {
        if (!sep.empty() && values[v].find(sep) != std::string::npos) {
          return Fail(ErrorCode::kConfig, "a value of '" + columns[i] + "' of object '" + object.anchor +
                                              "' contains the multi_value_separator '" + sep +
                                              "'; choose a separator that values never contain");
        }
        if (v > 0) fields[i] += sep;
        fields[i] += values[v];
      }
    }
    line.clear();
    AppendCsvRow(line, fields, options_.delimiter);
    IDSYNC_TRY(writer.Append(line));
    object = SnapshotObject{};
  }
  return writer.Commit();
}

}  // namespace idsync
