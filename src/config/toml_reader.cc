#include "config/toml_reader.h"

#include <fmt/format.h>

namespace idsync {

TomlReader::TomlReader(const toml::table& table, std::string file, std::string key_path)
    : table_(&table), file_(std::move(file)), key_path_(std::move(key_path)) {}

std::string TomlReader::Child(std::string_view key) const {
  return key_path_.empty() ? std::string(key) : key_path_ + "." + std::string(key);
}

std::string TomlReader::Where(std::string_view key) const {
  const toml::node* node = key.empty() ? table_ : table_->get(key);
  if (!node) node = table_;
  auto line = node->source().begin.line;
  return fmt::format("{}:{} key '{}'", file_, line, key.empty() ? key_path_ : Child(key));
}

tl::unexpected<Error> TomlReader::ErrorAt(std::string_view key, std::string_view message) const {
  const toml::node* node = key.empty() ? table_ : table_->get(key);
  if (!node) node = table_;
  return Fail(ErrorCode::kConfig, fmt::format("{}:{}: key '{}': {}", file_, node->source().begin.line,
                                              key.empty() ? key_path_ : Child(key), message));
}

bool TomlReader::Has(std::string_view key) const { return table_->contains(key); }

const toml::node* TomlReader::Node(std::string_view key) {
  used_.insert(std::string(key));
  return table_->get(key);
}

Result<std::optional<std::string>> TomlReader::OptString(std::string_view key) {
  const toml::node* node = Node(key);
  if (!node) return std::optional<std::string>();
  if (!node->is_string()) return ErrorAt(key, "must be a string");
  return std::optional<std::string>(node->as_string()->get());
}

Result<std::string> TomlReader::String(std::string_view key) {
  IDSYNC_ASSIGN(auto value, OptString(key));
  if (!value) return ErrorAt(key, "is required");
  return *value;
}

Result<std::optional<int64_t>> TomlReader::OptInt(std::string_view key) {
  const toml::node* node = Node(key);
  if (!node) return std::optional<int64_t>();
  if (!node->is_integer()) return ErrorAt(key, "must be an integer");
  return std::optional<int64_t>(node->as_integer()->get());
}

Result<std::optional<double>> TomlReader::OptNumber(std::string_view key) {
  const toml::node* node = Node(key);
  if (!node) return std::optional<double>();
  if (node->is_integer()) return std::optional<double>(static_cast<double>(node->as_integer()->get()));
  if (!node->is_floating_point()) return ErrorAt(key, "must be a number");
  return std::optional<double>(node->as_floating_point()->get());
}

Result<std::optional<bool>> TomlReader::OptBool(std::string_view key) {
  const toml::node* node = Node(key);
  if (!node) return std::optional<bool>();
  if (!node->is_boolean()) return ErrorAt(key, "must be true or false");
  return std::optional<bool>(node->as_boolean()->get());
}

Result<std::optional<std::vector<std::string>>> TomlReader::OptStrings(std::string_view key) {
  const toml::node* node = Node(key);
  if (!node) return std::optional<std::vector<std::string>>();
  if (!node->is_array()) return ErrorAt(key, "must be an array of strings");
  std::vector<std::string> out;
  for (const auto& item : *node->as_array()) {
    if (!item.is_string()) return ErrorAt(key, "must be an array of strings");
    out.push_back(item.as_string()->get());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<TomlReader>> TomlReader::OptTable(std::string_view key) {
  const toml::node* node = Node(key);
  if (!node) return std::optional<TomlReader>();
  if (!node->is_table()) return ErrorAt(key, "must be a table");
  return std::optional<TomlReader>(TomlReader(*node->as_table(), file_, Child(key)));
}

Result<std::vector<std::pair<std::string, std::string>>> TomlReader::StringPairs() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, node] : *table_) {
    used_.insert(std::string(key.str()));
    if (!node.is_string()) return ErrorAt(key.str(), "must be a string");
    out.emplace_back(std::string(key.str()), node.as_string()->get());
  }
  // toml++ keeps keys sorted; file order is the source line order.
  std::stable_sort(out.begin(), out.end(), [this](const auto& a, const auto& b) {
    return table_->get(a.first)->source().begin < table_->get(b.first)->source().begin;
  });
  return out;
}

std::vector<std::string> TomlReader::Keys() {
  std::vector<std::string> keys;
  for (const auto& [key, node] : *table_) {
    used_.insert(std::string(key.str()));
    keys.emplace_back(key.str());
  }
  std::stable_sort(keys.begin(), keys.end(), [this](const auto& a, const auto& b) {
    return table_->get(a)->source().begin < table_->get(b)->source().begin;
  });
  return keys;
}

Status TomlReader::CheckNoUnknownKeys() const {
  for (const auto& [key, node] : *table_) {
    if (!used_.count(key.str())) return ErrorAt(key.str(), "unknown key; see docs/config.md for the keys allowed here");
  }
  return {};
}

}  // namespace idsync
