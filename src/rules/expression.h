// rules/expression: the attribute-flow expression language.
//
// An expression such as `lower(givenName) & "." & lower(sn) & "@example.com"`
// is parsed once into an immutable tree and then evaluated for every object
// of a run. Every expression evaluates to Values; an empty list is null.
// The language (operators, functions, null handling) is described in
// docs/config.md; functions that are not built in are extension functions
// implemented in Lua and called through an ExtensionHost.
//
// Thread-safety: an Expression is immutable after Parse and may be evaluated
// from several threads at once, provided each thread passes its own
// ExtensionHost (a host is single-threaded). Copies share the parsed tree.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/attributes.h"
#include "core/error.h"

namespace idsync {

class ExtensionHost;  // rules/lua_host.h

// What an evaluation reads. Both pointers are borrowed for the duration of
// Evaluate. A null attrs behaves as an object with no attributes.
struct EvalContext {
  const AttributeMap* attrs = nullptr;  // the source object
  ExtensionHost* extensions = nullptr;  // may be null: extension calls then fail
  // When set, what the attribute `dn` reads if attrs has no attribute of
  // that name (a connector space object's DN, shown without adding it to
  // the object's attributes).
  const Values* dn = nullptr;
};

class Expression {
 public:
  // The empty expression: evaluates to null, references nothing.
  Expression();

  // Parses `text`. Fails with kInvalidArgument and a message that starts with
  // the 1-based column and says what was expected, e.g.
  // "column 14: expected ')' after arguments of lower, found end of input".
  // Wrong arity of a built-in function is a parse error too.
  static Result<Expression> Parse(std::string_view text);

  // Evaluates against ctx. Fails with kInvalidArgument and a message naming
  // the function or operator (e.g. "left: length must be a non-negative
  // integer, got 'x'"); errors from an extension function are passed on as
  // the ExtensionHost reported them (kLimit for its instruction and memory
  // limits). Never throws.
  Result<Values> Evaluate(const EvalContext& ctx) const;

  // Attribute names used, in order of first use, deduplicated ignoring case
  // (the first spelling is kept).
  const std::vector<std::string>& ReferencedAttributes() const;
  // Names of the extension (non-built-in) functions called, as written,
  // deduplicated.
  const std::vector<std::string>& CalledFunctions() const;
  // The source text given to Parse.
  const std::string& text() const;

  struct Tree;  // parsed form; defined in rules/ast.h

 private:
  explicit Expression(std::shared_ptr<const Tree> tree);
  std::shared_ptr<const Tree> tree_;
};

// A value is true when it is non-null and its first value is not "", "0" or
// "false" (compared ignoring case, so LDAP's "FALSE" is false too).
bool IsTruthy(const Values& v);

}  // namespace idsync
