// Recursive-descent parser. Precedence, lowest first:
//   ||   &&   == !=   &   !   primary
// `&`, `&&` and `||` build one n-ary node per chain so that long chains do
// not make deep trees; comparisons do not chain. Nesting depth is bounded so
// hostile input cannot overflow the stack here or in the evaluator.
#include <array>

#include "rules/ast.h"
#include "rules/lexer.h"

namespace idsync {
namespace rules {
namespace {

constexpr int kMaxDepth = 200;

constexpr std::array<BuiltinInfo, 16> kBuiltins = {{
    {"lower", Builtin::kLower, 1, 1},
    {"upper", Builtin::kUpper, 1, 1},
    {"trim", Builtin::kTrim, 1, 1},
    {"left", Builtin::kLeft, 2, 2},
    {"right", Builtin::kRight, 2, 2},
    {"mid", Builtin::kMid, 3, 3},
    {"replace", Builtin::kReplace, 3, 3},
    {"split", Builtin::kSplit, 2, 2},
    {"join", Builtin::kJoin, 2, 2},
    {"iif", Builtin::kIif, 3, 3},
    {"isPresent", Builtin::kIsPresent, 1, 1},
    {"coalesce", Builtin::kCoalesce, 1, -1},
    {"formatDate", Builtin::kFormatDate, 3, 3},
    {"count", Builtin::kCount, 1, 1},
    {"first", Builtin::kFirst, 1, 1},
    {"null", Builtin::kNull, 0, 0},
}};

// InfoFor indexes the table by enum value.
constexpr bool TableFollowsEnumOrder() {
  for (size_t i = 0; i < kBuiltins.size(); ++i) {
    if (static_cast<size_t>(kBuiltins[i].id) != i) return false;
  }
  return true;
}
static_assert(TableFollowsEnumOrder(), "kBuiltins must list functions in Builtin order");

std::string Arguments(int n) { return n == 1 ? "1 argument" : std::to_string(n) + " arguments"; }

std::string ArityMessage(const BuiltinInfo& info, size_t got) {
  std::string expected;
  if (info.max_args == 0) {
    expected = "no arguments";
  } else if (info.max_args < 0) {
    expected = "at least " + Arguments(info.min_args);
  } else {
    expected = Arguments(info.min_args);
  }
  return std::string(info.name) + " takes " + expected + ", got " + std::to_string(got);
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens, Expression::Tree& tree)
      : text_(text), tokens_(std::move(tokens)), tree_(tree) {}

  Result<Node> ParseAll() {
    IDSYNC_ASSIGN(Node root, ParseOr());
    if (Peek().kind != TokenKind::kEnd) {
      return ErrorAt(Peek(),
                     "expected an operator or end of expression, found " + Describe(Peek()));
    }
    return root;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Take() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  tl::unexpected<idsync::Error> ErrorAt(const Token& at, const std::string& what) const {
    return Fail(ErrorCode::kInvalidArgument, ColumnPrefix(text_, at.offset) + what);
  }

  // Guards nesting depth for one level of recursion.
  Status Enter(const Token& at) {
    if (++depth_ > kMaxDepth) {
      return ErrorAt(at, "expression is nested too deeply (more than " + std::to_string(kMaxDepth) +
                             " levels)");
    }
    return {};
  }

  // Parses `operand (sep operand)*` into one n-ary node of kind op.
  template <class Operand>
  Result<Node> Chain(TokenKind sep, Op op, Operand operand) {
    IDSYNC_ASSIGN(Node first, (this->*operand)());
    if (Peek().kind != sep) return first;
    Node node;
    node.op = op;
    node.args.push_back(std::move(first));
    while (Peek().kind == sep) {
      Take();
      IDSYNC_ASSIGN(Node next, (this->*operand)());
      node.args.push_back(std::move(next));
    }
    return node;
  }

  Result<Node> ParseOr() { return Chain(TokenKind::kOrOr, Op::kOr, &Parser::ParseAnd); }
  Result<Node> ParseAnd() { return Chain(TokenKind::kAndAnd, Op::kAnd, &Parser::ParseComparison); }
  Result<Node> ParseConcat() { return Chain(TokenKind::kAmp, Op::kConcat, &Parser::ParseUnary); }

  Result<Node> ParseComparison() {
    IDSYNC_ASSIGN(Node left, ParseConcat());
    TokenKind kind = Peek().kind;
    if (kind != TokenKind::kEq && kind != TokenKind::kNe) return left;
    Take();
    IDSYNC_ASSIGN(Node right, ParseConcat());
    if (Peek().kind == TokenKind::kEq || Peek().kind == TokenKind::kNe) {
      return ErrorAt(Peek(), "comparisons cannot be chained; add parentheses");
    }
    Node node;
    node.op = kind == TokenKind::kEq ? Op::kEqual : Op::kNotEqual;
    node.args.push_back(std::move(left));
    node.args.push_back(std::move(right));
    return node;
  }

  Result<Node> ParseUnary() {
    if (Peek().kind != TokenKind::kNot) return ParsePrimary();
    IDSYNC_TRY(Enter(Take()));
    IDSYNC_ASSIGN(Node operand, ParseUnary());
    --depth_;
    Node node;
    node.op = Op::kNot;
    node.args.push_back(std::move(operand));
    return node;
  }

  Result<Node> ParsePrimary() {
    const Token& token = Take();
    Node node;
    switch (token.kind) {
      case TokenKind::kString:
      case TokenKind::kInteger:
        node.op = Op::kLiteral;
        node.literal.push_back(token.text);
        return node;
      case TokenKind::kIdentifier:
        if (Peek().kind == TokenKind::kLParen) return ParseCall(token);
        [[fallthrough]];
      case TokenKind::kQuotedIdentifier:
        node.op = Op::kAttribute;
        node.name = token.text;
        AddAttribute(token.text);
        return node;
      case TokenKind::kLParen: {
        IDSYNC_TRY(Enter(token));
        IDSYNC_ASSIGN(node, ParseOr());
        if (Peek().kind != TokenKind::kRParen) {
          return ErrorAt(Peek(), "expected ')' to close the '(' at column " +
                                     std::to_string(Column(text_, token.offset)) + ", found " +
                                     Describe(Peek()));
        }
        Take();
        --depth_;
        return node;
      }
      default:
        return ErrorAt(token, "expected an expression, found " + Describe(token));
    }
  }

  Result<Node> ParseCall(const Token& name) {
    IDSYNC_TRY(Enter(name));
    Take();  // '('
    Node node;
    if (Peek().kind != TokenKind::kRParen) {
      while (true) {
        IDSYNC_ASSIGN(Node arg, ParseOr());
        node.args.push_back(std::move(arg));
        if (Peek().kind == TokenKind::kComma) {
          Take();
          continue;
        }
        if (Peek().kind == TokenKind::kRParen) break;
        return ErrorAt(
            Peek(), "expected ')' after arguments of " + name.text + ", found " + Describe(Peek()));
      }
    }
    Take();  // ')'
    --depth_;
    if (const BuiltinInfo* info = FindBuiltin(name.text)) {
      size_t n = node.args.size();
      if (n < static_cast<size_t>(info->min_args) ||
          (info->max_args >= 0 && n > static_cast<size_t>(info->max_args))) {
        return ErrorAt(name, ArityMessage(*info, n));
      }
      node.op = Op::kBuiltin;
      node.builtin = info->id;
      return node;
    }
    node.op = Op::kExtension;
    node.name = name.text;
    for (const std::string& f : tree_.functions) {
      if (f == name.text) return node;
    }
    tree_.functions.push_back(name.text);
    return node;
  }

  void AddAttribute(const std::string& name) {
    for (const std::string& a : tree_.attributes) {
      if (EqualsIgnoreCase(a, name)) return;
    }
    tree_.attributes.push_back(name);
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  Expression::Tree& tree_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

const BuiltinInfo* FindBuiltin(std::string_view name) {
  for (const BuiltinInfo& info : kBuiltins) {
    if (EqualsIgnoreCase(info.name, name)) return &info;
  }
  return nullptr;
}

const BuiltinInfo& InfoFor(Builtin id) { return kBuiltins[static_cast<size_t>(id)]; }

Result<Expression::Tree> ParseTree(std::string_view text) {
  Expression::Tree tree;
  tree.text.assign(text);
  IDSYNC_ASSIGN(std::vector<Token> tokens, Tokenize(text));
  Parser parser(text, std::move(tokens), tree);
  IDSYNC_ASSIGN(tree.root, parser.ParseAll());
  return tree;
}

}  // namespace rules
}  // namespace idsync
