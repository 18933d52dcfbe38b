// rules/lexer: splits expression text into tokens. Internal to the rules module.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace idsync {
namespace rules {

enum class TokenKind {
  kEnd,
  kIdentifier,
  kQuotedIdentifier,
  kString,
  kInteger,
  kAmp,
  kEq,
  kNe,
  kAndAnd,
  kOrOr,
  kNot,
  kLParen,
  kRParen,
  kComma,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t offset = 0;  // byte offset of the token's first character
  std::string text;   // identifier name, decoded string, or integer digits
};

// Tokenizes text; the last token is always kEnd. Fails with kInvalidArgument
// ("column 3: unterminated string literal") on a malformed token.
Result<std::vector<Token>> Tokenize(std::string_view text);

// The 1-based column of a byte offset, counting UTF-8 characters.
size_t Column(std::string_view text, size_t offset);

// "column N: " for a byte offset, counting UTF-8 characters from 1.
std::string ColumnPrefix(std::string_view text, size_t offset);

// How a token is named in messages: "')'", "end of input", "identifier 'sn'".
std::string Describe(const Token& token);

}  // namespace rules
}  // namespace idsync
