#include "rules/lexer.h"

#include <charconv>
#include <cstdint>

namespace idsync {
namespace rules {
namespace {

bool IsIdentStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The UTF-8 character starting at offset, for messages.
std::string_view CharAt(std::string_view text, size_t offset) {
  size_t end = offset + 1;
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  return text.substr(offset, end - offset);
}

tl::unexpected<Error> LexError(std::string_view text, size_t offset, const std::string& what) {
  return Fail(ErrorCode::kInvalidArgument, ColumnPrefix(text, offset) + what);
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
      Token token;
      token.offset = pos_;
      if (pos_ >= text_.size()) {
        tokens.push_back(std::move(token));
        return tokens;
      }
      IDSYNC_TRY(Next(token));
      tokens.push_back(std::move(token));
    }
  }

 private:
  Status Next(Token& token) {
    char c = text_[pos_];
    char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    if (IsIdentStart(c)) {
      size_t start = pos_;
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
      token.kind = TokenKind::kIdentifier;
      token.text.assign(text_.substr(start, pos_ - start));
      if (pos_ < text_.size() && text_[pos_] == '-') {
        size_t end = pos_;
        while (end < text_.size() && (IsIdentChar(text_[end]) || text_[end] == '-')) ++end;
        return LexError(text_, pos_,
                        "unexpected '-' in a name (write `" +
                            std::string(text_.substr(start, end - start)) +
                            "` in backquotes for names with other characters)");
      }
      return {};
    }
    if (IsDigit(c) || (c == '-' && IsDigit(next))) return Number(token);
    if (c == '"') return String(token);
    if (c == '`') return QuotedIdentifier(token);
    auto two = [&](TokenKind kind) {
      token.kind = kind;
      pos_ += 2;
    };
    auto one = [&](TokenKind kind) {
      token.kind = kind;
      pos_ += 1;
    };
    switch (c) {
      case '&':
        if (next == '&')
          two(TokenKind::kAndAnd);
        else
          one(TokenKind::kAmp);
        return {};
      case '|':
        if (next == '|') {
          two(TokenKind::kOrOr);
          return {};
        }
        return LexError(text_, pos_, "unexpected '|' (did you mean '||'?)");
      case '=':
        if (next == '=') {
          two(TokenKind::kEq);
          return {};
        }
        return LexError(text_, pos_, "unexpected '=' (did you mean '=='?)");
      case '!':
        if (next == '=')
          two(TokenKind::kNe);
        else
          one(TokenKind::kNot);
        return {};
      case '(':
        one(TokenKind::kLParen);
        return {};
      case ')':
        one(TokenKind::kRParen);
        return {};
      case ',':
        one(TokenKind::kComma);
        return {};
      default:
        return LexError(text_, pos_,
                        "unexpected character '" + std::string(CharAt(text_, pos_)) + "'");
    }
  }

  Status Number(Token& token) {
    size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    if (pos_ < text_.size() && IsIdentChar(text_[pos_])) {
      size_t end = pos_;
      while (end < text_.size() && IsIdentChar(text_[end])) ++end;
      return LexError(text_, start,
                      "invalid number '" + std::string(text_.substr(start, end - start)) + "'");
    }
    int64_t value = 0;
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    auto [ptr, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || ptr != last) {
      return LexError(text_, start, "integer " + std::string(first, last) + " is out of range");
    }
    token.kind = TokenKind::kInteger;
    token.text = std::to_string(value);
    return {};
  }

  Status String(Token& token) {
    size_t start = pos_++;
    token.kind = TokenKind::kString;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return {};
      }
      if (c != '\\') {
        token.text.push_back(c);
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= text_.size()) break;
      char e = text_[pos_ + 1];
      switch (e) {
        case '"':
          token.text.push_back('"');
          break;
        case '\\':
          token.text.push_back('\\');
          break;
        case 'n':
          token.text.push_back('\n');
          break;
        case 't':
          token.text.push_back('\t');
          break;
        default:
          return LexError(text_, pos_,
                          "unknown escape '\\" + std::string(CharAt(text_, pos_ + 1)) +
                              "' in string literal (use \\\", \\\\, \\n or \\t)");
      }
      pos_ += 2;
    }
    return LexError(text_, start, "unterminated string literal");
  }

  Status QuotedIdentifier(Token& token) {
    size_t start = pos_++;
    size_t close = text_.find('`', pos_);
    if (close == std::string_view::npos) return LexError(text_, start, "unterminated `name`");
    if (close == pos_) return LexError(text_, start, "empty attribute name in backquotes");
    token.kind = TokenKind::kQuotedIdentifier;
    token.text.assign(text_.substr(pos_, close - pos_));
    pos_ = close + 1;
    return {};
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view text) { return Lexer(text).Run(); }

size_t Column(std::string_view text, size_t offset) {
  size_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  }
  return column;
}

std::string ColumnPrefix(std::string_view text, size_t offset) {
  return "column " + std::to_string(Column(text, offset)) + ": ";
}

std::string Describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of input";
    case TokenKind::kIdentifier:
      return "identifier '" + token.text + "'";
    case TokenKind::kQuotedIdentifier:
      return "`" + token.text + "`";
    case TokenKind::kString:
      return "string \"" + token.text + "\"";
    case TokenKind::kInteger:
      return "number " + token.text;
    case TokenKind::kAmp:
      return "'&'";
    case TokenKind::kEq:
      return "'=='";
    case TokenKind::kNe:
      return "'!='";
    case TokenKind::kAndAnd:
      return "'&&'";
    case TokenKind::kOrOr:
      return "'||'";
    case TokenKind::kNot:
      return "'!'";
    case TokenKind::kLParen:
      return "'('";
    case TokenKind::kRParen:
      return "')'";
    case TokenKind::kComma:
      return "','";
  }
  return "token";
}

}  // namespace rules
}  // namespace idsync
