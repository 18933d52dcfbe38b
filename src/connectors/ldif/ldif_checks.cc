#include "connectors/ldif/ldif_checks.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "connectors/file_util.h"
#include "core/attributes.h"

namespace idsync {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
// getline()'s buffer.
struct LineBuffer {
  char* data = nullptr;
  size_t capacity = 0;
  ~LineBuffer() { std::free(data); }
};

// The attribute type of "type: value" / "type:: value", with spaces before the
// colon dropped as libldap does.
std::string_view TypeOf(std::string_view line, size_t colon) {
  std::string_view type = line.substr(0, colon);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return type;
}

}  // namespace

Status CheckNoIncludeDirectives(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "re"));
  if (!file) return tl::unexpected(OpenError(path, errno));
  LineBuffer buffer;
  unsigned long line_number = 0;
  bool in_record = false, top_comment = false;
  ssize_t n;
  // Mirrors ldif_read_record(): a record starts at the first line after a
  // blank line that is neither a comment nor a continuation of one.
  while ((n = ::getline(&buffer.data, &buffer.capacity, file.get())) >= 0) {
    std::string_view line(buffer.data, static_cast<size_t>(n));
    if (++line_number == 1 && line.starts_with(kUtf8Bom)) line.remove_prefix(kUtf8Bom.size());
    if (line.ends_with('\n')) line.remove_suffix(1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) {
      in_record = top_comment = false;
      continue;
    }
    if (in_record) continue;
    if (line.front() == '#') {
      top_comment = true;
      continue;
    }
    if (top_comment && line.front() == ' ') continue;
    in_record = true;
    if (line.size() >= 8 && EqualsIgnoreCase(line.substr(0, 8), "include:")) {
      return Fail(ErrorCode::kParse, path + ":" + std::to_string(line_number) +
                                         ": 'include:' directives are not supported; put the "
                                         "included records into the file itself");
    }
  }
  if (std::ferror(file.get())) return tl::unexpected(IoError("cannot read", path, errno));
  return {};
}

RecordShape InspectRecord(std::string_view record, unsigned long first_line) {
  RecordShape shape;
  std::string logical;  // the current logical line, unfolded
  unsigned long logical_line = 0;
  bool in_comment = false, have_logical = false;
  int count = 0;  // non-comment logical lines seen
  bool version_first = false;

  auto finish = [&]() {
    if (!have_logical || !shape.error.empty()) return;
    have_logical = false;
    std::string where = "line " + std::to_string(logical_line) + ": ";
    ++count;
    if (logical == "-") return;  // separator inside a modify record
    size_t colon = logical.find(':');
    if (colon == std::string::npos) {
      shape.error = where + "expected 'name: value' but found no ':'";
      return;
    }
    std::string_view type = TypeOf(logical, colon);
    if (count == 1) {
      shape.dn_line = logical_line;
      version_first = EqualsIgnoreCase(type, "version");
      if (!version_first && !EqualsIgnoreCase(type, "dn")) {
        shape.error =
            where + "a record must start with 'dn:' but this one starts with '" + std::string(type) + ":'";
        return;
      }
    } else if (count == 2 && version_first) {
      shape.dn_line = logical_line;
      if (!EqualsIgnoreCase(type, "dn")) {
        shape.error = where + "expected 'dn:' after the version line";
        return;
      }
    }
    if (colon + 1 < logical.size() && logical[colon + 1] == '<') {
      shape.error = where + "'" + std::string(type) +
                    ":<' reads the value from a URL, which idsync does not allow; put the "
                    "value into the file (base64 after '::' for binary data)";
    }
  };

  unsigned long line_number = first_line;
  while (!record.empty()) {
    size_t end = record.find('\n');
    std::string_view line = record.substr(0, end);
    record.remove_prefix(end == std::string_view::npos ? record.size() : end + 1);
    if (!line.empty() && line.front() == ' ' && (have_logical || in_comment)) {
      if (have_logical) logical.append(line.substr(1));
    } else {
      finish();
      in_comment = !line.empty() && line.front() == '#';
      if (!in_comment) {
        logical.assign(line);
        logical_line = line_number;
        have_logical = true;
      }
    }
    ++line_number;
  }
  finish();
  if (shape.dn_line == 0) shape.dn_line = first_line;
  shape.version_only = shape.error.empty() && version_first && count == 1;
  return shape;
}

}  // namespace idsync
