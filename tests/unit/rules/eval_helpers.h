// Helpers shared by the rules tests: parse-and-evaluate in one step.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/attributes.h"
#include "rules/expression.h"

namespace idsync {

// Parses text (failing the test if it does not parse) and evaluates it.
inline Result<Values> EvalResult(std::string_view text, const AttributeMap& attrs = {},
                                 ExtensionHost* host = nullptr) {
  auto expr = Expression::Parse(text);
  if (!expr) {
    ADD_FAILURE() << "parse of `" << text << "` failed: " << expr.error().message;
    return tl::unexpected(expr.error());
  }
  return expr->Evaluate(EvalContext{&attrs, host});
}

// Evaluates text and returns its values; an evaluation error fails the test.
inline Values Eval(std::string_view text, const AttributeMap& attrs = {},
                   ExtensionHost* host = nullptr) {
  auto result = EvalResult(text, attrs, host);
  if (!result) {
    ADD_FAILURE() << "evaluation of `" << text << "` failed: " << result.error().message;
    return {};
  }
  return *result;
}

// The evaluation error message of text; fails the test if it succeeds.
inline std::string EvalError(std::string_view text, const AttributeMap& attrs = {},
                             ExtensionHost* host = nullptr) {
  auto result = EvalResult(text, attrs, host);
  if (result) {
    ADD_FAILURE() << "evaluation of `" << text << "` unexpectedly succeeded";
    return {};
  }
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument) << result.error().message;
  return result.error().message;
}

// The parse error message of text; fails the test if it parses.
inline std::string ParseError(std::string_view text) {
  auto expr = Expression::Parse(text);
  if (expr) {
    ADD_FAILURE() << "`" << text << "` unexpectedly parsed";
    return {};
  }
  EXPECT_EQ(expr.error().code, ErrorCode::kInvalidArgument) << expr.error().message;
  return expr.error().message;
}

}  // namespace idsync
