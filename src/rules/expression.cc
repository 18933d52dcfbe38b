#include "rules/expression.h"

#include "rules/ast.h"

namespace idsync {
namespace {

const std::shared_ptr<const Expression::Tree>& EmptyTree() {
  static const std::shared_ptr<const Expression::Tree> tree =
      std::make_shared<const Expression::Tree>();
  return tree;
}

}  // namespace

Expression::Expression() : tree_(EmptyTree()) {}

Expression::Expression(std::shared_ptr<const Tree> tree) : tree_(std::move(tree)) {}

Result<Expression> Expression::Parse(std::string_view text) {
  IDSYNC_ASSIGN(Tree tree, rules::ParseTree(text));
  return Expression(std::make_shared<const Tree>(std::move(tree)));
}

Result<Values> Expression::Evaluate(const EvalContext& ctx) const {
  // A plain attribute reference (the most common flow) is one lookup and
  // one copy here too.
  Values out;
  IDSYNC_TRY(rules::EvalInto(tree_->root, ctx, out));
  return out;
}

const std::vector<std::string>& Expression::ReferencedAttributes() const {
  return tree_->attributes;
}
const std::vector<std::string>& Expression::CalledFunctions() const { return tree_->functions; }
const std::string& Expression::text() const { return tree_->text; }

bool IsTruthy(const Values& v) {
  if (v.empty()) return false;
  const std::string& s = v.front();
  return !(s.empty() || s == "0" || EqualsIgnoreCase(s, "false"));
}

}  // namespace idsync
