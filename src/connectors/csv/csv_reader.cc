#include "connectors/csv/csv_reader.h"

#include <csv.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "connectors/file_util.h"

namespace idsync {
namespace {

constexpr size_t kChunkSize = 1 << 20;
constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Owns a libcsv parser in strict mode (see ReadCsvFile for why).
class CsvParser {
 public:
  explicit CsvParser(char delimiter) : delimiter_(delimiter) { Init(); }
  ~CsvParser() { csv_free(&parser_); }
  CsvParser(const CsvParser&) = delete;
  CsvParser& operator=(const CsvParser&) = delete;

  csv_parser* get() { return &parser_; }
  bool ok() const { return ok_; }
  // Forgets the row in progress.
  void Reset() {
    csv_free(&parser_);
    Init();
  }

 private:
  void Init() {
    ok_ = csv_init(&parser_, CSV_STRICT) == 0;
    csv_set_delim(&parser_, static_cast<unsigned char>(delimiter_));
  }

  csv_parser parser_;
  char delimiter_;
  bool ok_ = false;
};

// Collects libcsv's field and row callbacks into rows with line numbers.
//
// Line tracking: the file is fed to libcsv one physical line at a time. A row
// starts on the first line that holds something libcsv does not skip (it
// skips blank lines and, by default, spaces and tabs before a field); the row
// callback fires while the line holding its terminator is being fed.
class RowAssembler {
 public:
  RowAssembler(CsvRowHandler& handler, char delimiter) : handler_(handler), delimiter_(delimiter) {}

  static void OnField(void* data, size_t len, void* self) {
    static_cast<RowAssembler*>(self)->AddField(static_cast<const char*>(data), len);
  }
  static void OnRowEnd(int /*terminator*/, void* self) { static_cast<RowAssembler*>(self)->EndRow({}); }

  // Called before a piece of the current physical line is fed to libcsv.
  void BeforeSegment(const char* p, size_t n) {
    if (row_begun_) return;
    for (size_t i = 0; i < n; ++i) {
      char c = p[i];
      if (c == delimiter_ || (c != ' ' && c != '\t' && c != '\r' && c != '\n')) {
        BeginRow();
        return;
      }
    }
  }
  void AfterNewline() { ++line_; }

  // The current row could not be finished (unterminated quote at EOF).
  void AbandonRow(std::string_view error) {
    if (row_begun_) EndRow(error);
  }

  const Status& status() const { return status_; }

 private:
  void BeginRow() {
    row_begun_ = true;
    row_line_ = line_;
  }

  void AddField(const char* data, size_t len) {
    if (!row_begun_) BeginRow();  // a row that starts after a bare CR
    if (len > 0) arena_.append(data, len);
    ends_.push_back(arena_.size());
  }

  void EndRow(std::string_view error) {
    if (!row_begun_) BeginRow();
    if (status_) {
      views_.clear();
      size_t begin = 0;
      for (size_t end : ends_) {
        views_.emplace_back(arena_.data() + begin, end - begin);
        begin = end;
      }
      if (error.empty()) {
        for (size_t i = 0; i < views_.size(); ++i) {
          if (!IsValidUtf8(views_[i])) {
            utf8_error_ = "field " + std::to_string(i + 1) + " is not valid UTF-8";
            error = utf8_error_;
            break;
          }
        }
      }
      status_ = handler_.OnRow(CsvRow{views_, row_line_, error});
    }
    arena_.clear();
    ends_.clear();
    row_begun_ = false;
  }

  CsvRowHandler& handler_;
  char delimiter_;
  std::string arena_;         // the current row's fields, back to back
  std::vector<size_t> ends_;  // end offset of each field in arena_
  std::vector<std::string_view> views_;
  std::string utf8_error_;
  uint64_t line_ = 1;
  uint64_t row_line_ = 0;
  bool row_begun_ = false;
  Status status_;
};

// Feeds one piece of a physical line to libcsv. Strict mode stops at two
// kinds of input (csv_parse returns early with CSV_EPARSE):
// - a quote inside an unquoted field (a"b): accepted as data, as lenient
//   readers do and csv-spectrum expects, by passing that one byte in
//   non-strict mode;
// - text after a closing quote ("a"b): the row is malformed; it is reported
//   and reading resumes at the next physical line. (In non-strict mode libcsv
//   would reopen the quoted field and swallow the rest of the file.)
// Returns false when the rest of the line must be skipped.
Result<bool> Feed(CsvParser& parser, RowAssembler& rows, const std::string& path, const char* data,
                  size_t len) {
  csv_parser* p = parser.get();
  size_t done = 0;
  while (done < len) {
    done += csv_parse(p, data + done, len - done, RowAssembler::OnField, RowAssembler::OnRowEnd, &rows);
    IDSYNC_TRY(rows.status());
    if (done == len) break;
    if (csv_error(p) != CSV_EPARSE) {
      return Fail(ErrorCode::kIo, "cannot parse " + path + ": " + csv_strerror(csv_error(p)));
    }
    p->status = CSV_SUCCESS;
    if (p->quoted) {
      rows.AbandonRow(
          "text after the closing quote of a field; quote the whole field and double "
          "the quotes inside it");
      IDSYNC_TRY(rows.status());
      parser.Reset();
      return false;
    }
    csv_set_opts(p, 0);
    done += csv_parse(p, data + done, 1, RowAssembler::OnField, RowAssembler::OnRowEnd, &rows);
    csv_set_opts(p, CSV_STRICT);
  }
  return true;
}

}  // namespace

Status ReadCsvFile(const std::string& path, char delimiter, CsvRowHandler& handler) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return tl::unexpected(OpenError(path, errno));

  CsvParser parser(delimiter);
  if (!parser.ok()) return Fail(ErrorCode::kInternal, "cannot initialise libcsv");
  RowAssembler rows(handler, delimiter);
  std::vector<char> buffer(kChunkSize);
  bool first_chunk = true;
  bool skipping = false;  // dropping the rest of a malformed line

  for (;;) {
    ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(IoError("cannot read", path, errno));
    }
    if (got == 0) break;
    size_t pos = 0, size = static_cast<size_t>(got);
    if (first_chunk) {
      first_chunk = false;
      // A short first read could split the BOM; files that small are not
      // worth a second read, so only a complete BOM is recognised.
      if (std::string_view(buffer.data(), size).starts_with(kBom)) pos = kBom.size();
    }
    while (pos < size) {
      const char* start = buffer.data() + pos;
      const void* newline = std::memchr(start, '\n', size - pos);
      size_t len = newline ? static_cast<const char*>(newline) - start + 1 : size - pos;
      if (!skipping) {
        rows.BeforeSegment(start, len);
        IDSYNC_ASSIGN(bool whole_line, Feed(parser, rows, path, start, len));
        skipping = !whole_line;
      }
      if (newline) {
        rows.AfterNewline();
        skipping = false;
      }
      pos += len;
    }
  }

  // CSV_STRICT_FINI: csv_fini refuses to close a quoted field that never
  // ended instead of submitting it as if it had.
  csv_set_opts(parser.get(), CSV_STRICT | CSV_STRICT_FINI);
  if (csv_fini(parser.get(), RowAssembler::OnField, RowAssembler::OnRowEnd, &rows) != 0) {
    rows.AbandonRow("unterminated quoted field at end of file");
  }
  return rows.status();
}

}  // namespace idsync
