// Tree-walking evaluator for operators and extension calls; built-in
// functions are in functions.cc. Operands are read through EvalRef so that
// attribute values and literals are never copied just to be inspected.
#include <array>

#include "rules/ast.h"
#include "rules/lua_host.h"

namespace idsync {
namespace rules {
namespace {

const Values kNullValues;

const Values& Lookup(const EvalContext& ctx, const std::string& name) {
  if (ctx.attrs != nullptr) {
    auto it = ctx.attrs->find(name);
    if (it != ctx.attrs->end()) return it->second;
  }
  if (ctx.dn != nullptr && EqualsIgnoreCase(name, "dn")) return *ctx.dn;
  return kNullValues;
}

void SetBool(Values& out, bool value) {
  out.clear();
  if (value) out.emplace_back("true");
}

Status EvalConcat(const Node& node, const EvalContext& ctx, Values& out) {
  // Operands usually fit on the stack; longer chains spill to the heap.
  constexpr size_t kInline = 8;
  const size_t n = node.args.size();
  std::array<Values, kInline> inline_scratch;
  std::array<const Values*, kInline> inline_refs;
  std::vector<Values> heap_scratch;
  std::vector<const Values*> heap_refs;
  Values* scratch = inline_scratch.data();
  const Values** refs = inline_refs.data();
  if (n > kInline) {
    heap_scratch.resize(n);
    heap_refs.resize(n);
    scratch = heap_scratch.data();
    refs = heap_refs.data();
  }

  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t multi = kNone;
  size_t total = 0;
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    IDSYNC_ASSIGN(refs[i], EvalRef(node.args[i], ctx, scratch[i]));
    const Values& v = *refs[i];
    if (v.empty()) continue;
    any = true;
    if (v.size() == 1) {
      total += v[0].size();
    } else if (multi == kNone) {
      multi = i;
    } else {
      return Fail(ErrorCode::kInvalidArgument,
                  "'&': cannot concatenate two multi-valued operands (" +
                      std::to_string(refs[multi]->size()) + " and " + std::to_string(v.size()) +
                      " values)");
    }
  }
  if (!any) {
    out.clear();
    return {};
  }
  // A null operand contributes "", a single value itself.
  auto append_range = [&](std::string& s, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      if (!refs[i]->empty()) s += refs[i]->front();
    }
  };
  if (multi == kNone) {
    std::string s;
    s.reserve(total);
    append_range(s, 0, n);
    out.clear();
    out.push_back(std::move(s));
    return {};
  }
  std::string prefix, suffix;
  append_range(prefix, 0, multi);
  append_range(suffix, multi + 1, n);
  const Values& values = *refs[multi];
  out.clear();
  out.reserve(values.size());
  for (const std::string& v : values) {
    std::string s;
    s.reserve(prefix.size() + v.size() + suffix.size());
    s.append(prefix).append(v).append(suffix);
    out.push_back(std::move(s));
  }
  return {};
}

Status EvalCompare(const Node& node, const EvalContext& ctx, Values& out) {
  Values sa, sb;
  IDSYNC_ASSIGN(const Values* a, EvalRef(node.args[0], ctx, sa));
  IDSYNC_ASSIGN(const Values* b, EvalRef(node.args[1], ctx, sb));
  bool equal = (a->empty() || b->empty()) ? a->empty() == b->empty() : a->front() == b->front();
  SetBool(out, equal == (node.op == Op::kEqual));
  return {};
}

// && and ||: stops at the first operand that decides the result.
Status EvalLogic(const Node& node, const EvalContext& ctx, Values& out) {
  const bool deciding = node.op == Op::kOr;
  Values scratch;
  for (const Node& arg : node.args) {
    IDSYNC_ASSIGN(const Values* v, EvalRef(arg, ctx, scratch));
    if (IsTruthy(*v) == deciding) {
      SetBool(out, deciding);
      return {};
    }
  }
  SetBool(out, !deciding);
  return {};
}

Status EvalExtension(const Node& node, const EvalContext& ctx, Values& out) {
  if (ctx.extensions == nullptr) {
    return Fail(ErrorCode::kInvalidArgument,
                "unknown function '" + node.name + "' (no extensions are loaded)");
  }
  if (!ctx.extensions->HasFunction(node.name)) {
    return Fail(
        ErrorCode::kInvalidArgument,
        "unknown function '" + node.name + "' (not built in and not defined by an extension)");
  }
  std::vector<Values> args(node.args.size());
  for (size_t i = 0; i < args.size(); ++i) IDSYNC_TRY(EvalInto(node.args[i], ctx, args[i]));
  IDSYNC_ASSIGN(out, ctx.extensions->Call(node.name, args));
  return {};
}

}  // namespace

Result<const Values*> EvalRef(const Node& node, const EvalContext& ctx, Values& scratch) {
  switch (node.op) {
    case Op::kLiteral:
      return &node.literal;
    case Op::kAttribute:
      return &Lookup(ctx, node.name);
    default:
      IDSYNC_TRY(EvalInto(node, ctx, scratch));
      return &scratch;
  }
}

Status EvalInto(const Node& node, const EvalContext& ctx, Values& out) {
  switch (node.op) {
    case Op::kLiteral:
      out = node.literal;
      return {};
    case Op::kAttribute:
      out = Lookup(ctx, node.name);
      return {};
    case Op::kConcat:
      return EvalConcat(node, ctx, out);
    case Op::kEqual:
    case Op::kNotEqual:
      return EvalCompare(node, ctx, out);
    case Op::kAnd:
    case Op::kOr:
      return EvalLogic(node, ctx, out);
    case Op::kNot: {
      Values scratch;
      IDSYNC_ASSIGN(const Values* v, EvalRef(node.args[0], ctx, scratch));
      SetBool(out, !IsTruthy(*v));
      return {};
    }
    case Op::kBuiltin:
      return EvalBuiltin(node, ctx, out);
    case Op::kExtension:
      return EvalExtension(node, ctx, out);
  }
  return Fail(ErrorCode::kInternal, "unknown expression node");
}

}  // namespace rules
}  // namespace idsync
