// rules/ast: the parsed form of an expression, shared by the parser and the
// evaluator. Internal to the rules module.
// Thread-safety: immutable once built.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/attributes.h"
#include "core/error.h"
#include "rules/expression.h"

namespace idsync {
namespace rules {

enum class Op : uint8_t {
  kLiteral,    // literal
  kAttribute,  // name
  kConcat,     // args: two or more operands
  kEqual,      // args: two operands
  kNotEqual,   // args: two operands
  kAnd,        // args: two or more operands, short-circuit
  kOr,         // args: two or more operands, short-circuit
  kNot,        // args: one operand
  kBuiltin,    // builtin, args
  kExtension,  // name, args
};

enum class Builtin : uint8_t {
  kLower,
  kUpper,
  kTrim,
  kLeft,
  kRight,
  kMid,
  kReplace,
  kSplit,
  kJoin,
  kIif,
  kIsPresent,
  kCoalesce,
  kFormatDate,
  kCount,
  kFirst,
  kNull,
};

struct BuiltinInfo {
  std::string_view name;  // canonical spelling, used in messages
  Builtin id;
  int min_args;
  int max_args;  // -1: no upper bound
};

// The built-in function called `name` (ignoring case), or nullptr.
const BuiltinInfo* FindBuiltin(std::string_view name);
const BuiltinInfo& InfoFor(Builtin id);

struct Node {
  Op op = Op::kLiteral;
  Builtin builtin = Builtin::kNull;
  std::string name;  // attribute or extension function name
  Values literal;
  std::vector<Node> args;
};

}  // namespace rules

struct Expression::Tree {
  std::string text;
  rules::Node root;
  std::vector<std::string> attributes;
  std::vector<std::string> functions;
};

namespace rules {

// Parses text into a tree (rules/parser.cc). Errors as Expression::Parse.
Result<Expression::Tree> ParseTree(std::string_view text);

// Evaluates node into out, replacing its contents (rules/evaluator.cc).
Status EvalInto(const Node& node, const EvalContext& ctx, Values& out);

// Evaluates node and returns a pointer to its value without copying where it
// can: into the tree for literals, into ctx.attrs for attribute references,
// otherwise into *scratch. Valid while node, ctx and scratch live.
Result<const Values*> EvalRef(const Node& node, const EvalContext& ctx, Values& scratch);

// Evaluates a built-in call (rules/functions.cc).
Status EvalBuiltin(const Node& node, const EvalContext& ctx, Values& out);

}  // namespace rules
}  // namespace idsync
