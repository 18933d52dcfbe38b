// config/toml_reader: typed access to one TOML table with error messages that
// name the file, line and dotted key, and a check that no unknown key was
// written (a misspelt key must never be silently ignored).
// Thread-safety: single-threaded helper used while loading.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "core/error.h"

namespace idsync {

class TomlReader {
 public:
  TomlReader(const toml::table& table, std::string file, std::string key_path);

  // "FILE:LINE: key 'a.b.c': MESSAGE" as a kConfig error.
  tl::unexpected<Error> ErrorAt(std::string_view key, std::string_view message) const;
  std::string Where(std::string_view key) const;  // "FILE:LINE key 'a.b.c'"

  bool Has(std::string_view key) const;
  Result<std::optional<std::string>> OptString(std::string_view key);
  Result<std::string> String(std::string_view key);  // required
  Result<std::optional<int64_t>> OptInt(std::string_view key);
  Result<std::optional<double>> OptNumber(std::string_view key);
  Result<std::optional<bool>> OptBool(std::string_view key);
  Result<std::optional<std::vector<std::string>>> OptStrings(std::string_view key);
  // A sub-table; nullopt when absent.
  Result<std::optional<TomlReader>> OptTable(std::string_view key);
  // Every key of a table whose values are all strings, in file order.
  Result<std::vector<std::pair<std::string, std::string>>> StringPairs();
  // Keys of this table, in file order (for tables of named items).
  std::vector<std::string> Keys();
  // The raw node (marks the key used).
  const toml::node* Node(std::string_view key);

  // Fails naming the first key that no accessor asked for.
  Status CheckNoUnknownKeys() const;

  const std::string& file() const { return file_; }
  const std::string& key_path() const { return key_path_; }
  std::string Child(std::string_view key) const;

 private:
  const toml::table* table_;
  std::string file_;
  std::string key_path_;
  std::set<std::string, std::less<>> used_;
};

}  // namespace idsync
