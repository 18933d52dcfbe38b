#include "store/postgres/pg_sql.h"

#include <strings.h>

#include <cctype>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/attributes.h"

namespace idsync {
namespace {

enum class Kind { kWord, kSpace, kVerbatim, kChar };

struct Token {
  Kind kind;
  std::string_view text;
};

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Splits SQL into words, runs of white space, verbatim pieces (string
// literals, quoted identifiers, comments: never rewritten) and single
// characters. An unterminated literal runs to the end.
std::vector<Token> Lex(std::string_view sql) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < sql.size()) {
    size_t start = i;
    char c = sql[i];
    Kind kind = Kind::kChar;
    if (c == '\'' || c == '"') {
      // '' (or "") inside the literal is an escaped quote: scanning on from
      // it simply continues the literal.
      ++i;
      while (i < sql.size()) {
        if (sql[i] == c) {
          if (i + 1 < sql.size() && sql[i + 1] == c) {
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        ++i;
      }
      kind = Kind::kVerbatim;
    } else if (sql.substr(i, 2) == "--") {
      i = sql.find('\n', i);
      if (i == std::string_view::npos) i = sql.size();
      kind = Kind::kVerbatim;
    } else if (sql.substr(i, 2) == "/*") {
      i = sql.find("*/", i + 2);
      i = i == std::string_view::npos ? sql.size() : i + 2;
      kind = Kind::kVerbatim;
    } else if (IsWordChar(c)) {
      while (i < sql.size() && IsWordChar(sql[i])) ++i;
      kind = Kind::kWord;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
      kind = Kind::kSpace;
    } else {
      ++i;
    }
    out.push_back({kind, sql.substr(start, i - start)});
  }
  return out;
}

bool IsWord(const Token& t, const char* word) {
  return t.kind == Kind::kWord && t.text.size() == strlen(word) &&
         strncasecmp(t.text.data(), word, t.text.size()) == 0;
}

// The index of the next token after `i` that is not white space, or the end.
size_t NextNonSpace(const std::vector<Token>& tokens, size_t i) {
  ++i;
  while (i < tokens.size() && tokens[i].kind == Kind::kSpace) ++i;
  return i;
}

void TrimEnd(std::string& s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
}

// A statement's tokens with an index of its significant ones (not white
// space, and not comments either when asked), which the rewrites below
// address by position in that index.
class Significant {
 public:
  Significant(std::string_view sql, bool skip_comments) : tokens_(Lex(sql)) {
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const Token& t = tokens_[i];
      bool comment = t.kind == Kind::kVerbatim && (t.text.starts_with("--") || t.text.starts_with("/*"));
      if (t.kind != Kind::kSpace && !(skip_comments && comment)) at_.push_back(i);
    }
  }
  const std::vector<Token>& tokens() const { return tokens_; }
  size_t size() const { return at_.size(); }
  // The position in tokens() of significant token k (the end when k is past it).
  size_t Index(size_t k) const { return k < at_.size() ? at_[k] : tokens_.size(); }
  const Token& operator[](size_t k) const { return tokens_[at_[k]]; }
  bool Word(size_t k, const char* w) const { return k < at_.size() && IsWord((*this)[k], w); }
  bool Char(size_t k, const char* c) const {
    return k < at_.size() && (*this)[k].kind == Kind::kChar && (*this)[k].text == c;
  }
  // The position of the parenthesis that closes the one at k.
  std::optional<size_t> Closing(size_t k) const {
    int depth = 0;
    for (; k < at_.size(); ++k) {
      if (Char(k, "(")) ++depth;
      if (Char(k, ")") && --depth == 0) return k;
    }
    return std::nullopt;
  }

 private:
  std::vector<Token> tokens_;
  std::vector<size_t> at_;
};

}  // namespace

std::string NumberPlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (const Token& t : Lex(sql)) {
    if (t.kind == Kind::kChar && t.text == "?") {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += t.text;
    }
  }
  *count = n;
  return out;
}

std::string TranslateDdl(std::string_view sql) {
  std::vector<Token> tokens = Lex(sql);
  std::string out;
  out.reserve(sql.size() + 256);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (IsWord(t, "BLOB")) {
      out += "BYTEA";
    } else if (IsWord(t, "INTEGER")) {
      size_t primary = NextNonSpace(tokens, i);
      size_t key = NextNonSpace(tokens, primary);
      bool primary_key = key < tokens.size() && IsWord(tokens[primary], "PRIMARY") && IsWord(tokens[key], "KEY");
      if (!primary_key) {
        out += "BIGINT";
        continue;
      }
      size_t after = NextNonSpace(tokens, key);
      bool singleton = after < tokens.size() && IsWord(tokens[after], "CHECK");
      out += singleton ? "BIGINT PRIMARY KEY" : "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
      i = key;
    } else if (size_t rowid = NextNonSpace(tokens, i);
               IsWord(t, "WITHOUT") && rowid < tokens.size() && IsWord(tokens[rowid], "ROWID")) {
      // A table clustered on its primary key is SQLite's storage choice;
      // PostgreSQL's tables are heaps either way.
      TrimEnd(out);
      i = rowid;
    } else {
      out += t.text;
    }
  }
  return out;
}

namespace {

// Where `INSERT INTO table (columns) VALUES (values)` closes its column and
// value lists, when `at` starts so and names no id column.
struct InsertShape {
  size_t columns_end, values_end;
};
std::optional<InsertShape> InsertWithoutId(const Significant& at) {
  if (!at.Word(0, "INSERT") || !at.Word(1, "INTO") || at.size() < 3 || at[2].kind != Kind::kWord ||
      !at.Char(3, "("))
    return std::nullopt;
  auto columns_end = at.Closing(3);
  if (!columns_end || !at.Word(*columns_end + 1, "VALUES") || !at.Char(*columns_end + 2, "(")) return std::nullopt;
  for (size_t k = 4; k < *columns_end; ++k)
    if (at.Word(k, "id")) return std::nullopt;  // the id is given already
  auto values_end = at.Closing(*columns_end + 2);
  if (!values_end) return std::nullopt;
  return InsertShape{*columns_end, *values_end};
}

// The insert up to (not including) significant token `stop`, with the id
// column and a placeholder for it added.
GivenIdInsert WithIdGiven(const Significant& at, const InsertShape& shape, size_t stop) {
  GivenIdInsert out;
  out.table = std::string(at[2].text);
  const auto& tokens = at.tokens();
  for (size_t i = 0; i < at.Index(stop); ++i) {
    if (i == at.Index(shape.columns_end)) out.sql += ", id";
    if (i == at.Index(shape.values_end)) out.sql += ", ?";
    out.sql += tokens[i].text;
  }
  TrimEnd(out.sql);
  return out;
}

}  // namespace

std::optional<GivenIdInsert> InsertGivingId(std::string_view sql) {
  const Significant at(sql, /*skip_comments=*/false);
  auto shape = InsertWithoutId(at);
  if (!shape || !at.Word(shape->values_end + 1, "RETURNING") || !at.Word(shape->values_end + 2, "id") ||
      shape->values_end + 3 != at.size())
    return std::nullopt;
  return WithIdGiven(at, *shape, shape->values_end + 1);
}

std::optional<GivenIdInsert> InsertGivingIdIfNew(std::string_view sql) {
  const Significant at(sql, /*skip_comments=*/false);
  auto shape = InsertWithoutId(at);
  if (!shape || !at.Word(shape->values_end + 1, "ON") || !at.Word(shape->values_end + 2, "CONFLICT"))
    return std::nullopt;
  // ON CONFLICT [(columns)] DO NOTHING RETURNING id, nothing else.
  size_t k = shape->values_end + 3;
  if (at.Char(k, "(")) {
    auto target_end = at.Closing(k);
    if (!target_end) return std::nullopt;
    k = *target_end + 1;
  }
  if (!at.Word(k, "DO") || !at.Word(k + 1, "NOTHING") || !at.Word(k + 2, "RETURNING") || !at.Word(k + 3, "id") ||
      k + 4 != at.size())
    return std::nullopt;
  return WithIdGiven(at, *shape, k + 2);
}

std::string InsertedTable(std::string_view sql) {
  const Significant at(sql, /*skip_comments=*/true);
  if (!at.Word(0, "INSERT") || !at.Word(1, "INTO") || at.size() < 3 || at[2].kind != Kind::kWord) return "";
  std::string table(at[2].text);
  for (char& c : table) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return table;
}

std::optional<CoalescedForm> Coalesced(std::string_view sql) {
  const Significant at(sql, /*skip_comments=*/true);
  const auto& tokens = at.tokens();
  const bool insert = at.Word(0, "INSERT"), update = at.Word(0, "UPDATE"), del = at.Word(0, "DELETE");
  if (!insert && !update && !del) return std::nullopt;
  // Subqueries, other tables, results and OR in a condition (which hides
  // the terms of a conjunction; in the values an update sets it is an
  // expression like any other) are out, as is anything that is not one
  // statement. FROM is a table's only after DELETE: `IS [NOT] DISTINCT
  // FROM` is an operator.
  int params = 0;
  bool condition = !update;
  for (size_t k = 0; k < at.size(); ++k) {
    const Token& t = at[k];
    condition = condition || IsWord(t, "WHERE");
    for (const char* w : {"SELECT", "RETURNING", "WITH", "OR", "BETWEEN", "USING", "UPDATE", "VALUES"}) {
      if (IsWord(t, w) && !(k == 0 && update) && !(insert && w == std::string_view("VALUES")) &&
          !(!condition && w == std::string_view("OR")))
        return std::nullopt;
    }
    if (IsWord(t, "FROM") && !(del && k == 1) && !(k > 0 && IsWord(at[k - 1], "DISTINCT"))) return std::nullopt;
    if (t.kind == Kind::kChar && (t.text == ";" || t.text == "$")) return std::nullopt;
    if (t.kind == Kind::kChar && t.text == "?") ++params;
  }
  if (params == 0) return std::nullopt;

  CoalescedForm out;
  int n = 0;
  // The tokens from a[first] up to (not including) a[last], `?` numbered.
  auto copy = [&](size_t first, size_t last) {
    for (size_t i = at.Index(first); i < at.Index(last); ++i) {
      if (tokens[i].kind == Kind::kChar && tokens[i].text == "?") out.sql += "idsync_rows.p" + std::to_string(++n);
      else out.sql += tokens[i].text;
    }
  };
  auto rows = [&](bool ordinality) {
    std::string s = "unnest(";
    for (int i = 1; i <= params; ++i) s += (i > 1 ? ", $" : "$") + std::to_string(i);
    s += ordinality ? ") WITH ORDINALITY AS idsync_rows(" : ") AS idsync_rows(";
    for (int i = 1; i <= params; ++i) s += (i > 1 ? ", p" : "p") + std::to_string(i);
    return s + (ordinality ? ", idsync_ord)" : ")");
  };

  if (insert) {
    if (!at.Word(1, "INTO") || at.size() < 3 || at[2].kind != Kind::kWord || !at.Char(3, "(")) return std::nullopt;
    auto columns_end = at.Closing(3);
    if (!columns_end || !at.Word(*columns_end + 1, "VALUES") || !at.Char(*columns_end + 2, "(")) return std::nullopt;
    auto values_end = at.Closing(*columns_end + 2);
    if (!values_end) return std::nullopt;
    size_t rest = *values_end + 1;
    if (rest != at.size()) {
      // Only ON CONFLICT ... DO NOTHING (DO UPDATE was refused above).
      if (!at.Word(rest, "ON") || !at.Word(rest + 1, "CONFLICT") || !at.Word(at.size() - 2, "DO") ||
          !at.Word(at.size() - 1, "NOTHING"))
        return std::nullopt;
    }
    out.table = ToLower(at[2].text);
    copy(0, *columns_end + 1);
    TrimEnd(out.sql);
    out.sql += " SELECT ";
    copy(*columns_end + 3, *values_end);
    TrimEnd(out.sql);
    out.sql += " FROM " + rows(true) + " ORDER BY idsync_rows.idsync_ord";
    if (rest != at.size()) {
      out.sql += ' ';
      copy(rest, at.size());
    }
    return out;
  }

  const size_t table = update ? 1 : 2;
  if (del && !at.Word(1, "FROM")) return std::nullopt;
  if (at.size() <= table || at[table].kind != Kind::kWord) return std::nullopt;
  out.table = ToLower(at[table].text);
  if (update && !at.Word(2, "SET")) return std::nullopt;
  if (del && !at.Word(3, "WHERE")) return std::nullopt;
  // The WHERE outside parentheses.
  size_t where = at.size();
  int depth = 0;
  for (size_t k = table + 1; k < at.size() && where == at.size(); ++k) {
    if (at.Char(k, "(")) ++depth;
    if (at.Char(k, ")")) --depth;
    if (depth == 0 && at.Word(k, "WHERE")) where = k;
  }
  if (where == at.size()) return std::nullopt;
  if (update) {
    // The columns set, and a term `k = ?` of the condition on another one.
    std::set<std::string> set;
    bool start = true;
    depth = 0;
    for (size_t k = 3; k < where; ++k) {
      if (start) {
        if (at[k].kind != Kind::kWord || !at.Char(k + 1, "=")) return std::nullopt;
        set.insert(ToLower(at[k].text));
        start = false;
      }
      if (at.Char(k, "(")) ++depth;
      if (at.Char(k, ")")) --depth;
      if (depth == 0 && at.Char(k, ",")) start = true;
    }
    int before = 0;  // parameters before the term
    for (size_t k = 0; k < where + 1; ++k) before += at.Char(k, "?") ? 1 : 0;
    depth = 0;
    size_t term = where + 1;
    for (size_t k = where + 1; k <= at.size() && !out.key; ++k) {
      bool end = k == at.size() || (depth == 0 && at.Word(k, "AND"));
      if (end) {
        if (k == term + 3 && at[term].kind == Kind::kWord && at.Char(term + 1, "=") && at.Char(term + 2, "?") &&
            !set.count(ToLower(at[term].text))) {
          out.key = before;
          out.key_column = ToLower(at[term].text);
        }
        term = k + 1;
      }
      if (k == at.size()) break;
      if (at.Char(k, "(")) ++depth;
      if (at.Char(k, ")")) --depth;
      if (at.Char(k, "?")) ++before;
    }
    if (!out.key) return std::nullopt;
    out.set_columns.assign(set.begin(), set.end());
    copy(0, where);
    TrimEnd(out.sql);
    out.sql += " FROM " + rows(false) + " ";
    copy(where, at.size());
    return out;
  }
  copy(0, where);
  TrimEnd(out.sql);
  out.sql += " USING " + rows(false) + " ";
  copy(where, at.size());
  return out;
}

}  // namespace idsync
