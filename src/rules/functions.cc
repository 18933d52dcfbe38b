// The built-in functions. String functions apply to each value of their
// first argument; other arguments use their first value.
#include <charconv>

#include "rules/ast.h"
#include "rules/text.h"

namespace idsync {
namespace rules {
namespace {

tl::unexpected<Error> FnError(const Node& node, const std::string& what) {
  return Fail(ErrorCode::kInvalidArgument, std::string(InfoFor(node.builtin).name) + ": " + what);
}

// One evaluated argument, read without copying where possible.
struct Arg {
  Values scratch;
  const Values* values = nullptr;
  std::string_view First() const { return values->empty() ? std::string_view() : values->front(); }
};

Status EvalArg(const Node& node, size_t i, const EvalContext& ctx, Arg& arg) {
  IDSYNC_ASSIGN(arg.values, EvalRef(node.args[i], ctx, arg.scratch));
  return {};
}

// Argument i as an integer >= min; `what` names it in messages.
Result<int64_t> IntArg(const Node& node, size_t i, const EvalContext& ctx, const char* what,
                       int64_t min) {
  Arg arg;
  IDSYNC_TRY(EvalArg(node, i, ctx, arg));
  const char* kind = min > 0 ? "a positive integer" : "a non-negative integer";
  if (arg.values->empty())
    return FnError(node, std::string(what) + " must be " + kind + ", got null");
  std::string_view s = arg.First();
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || ptr != s.data() + s.size() || n < min) {
    return FnError(node, std::string(what) + " must be " + kind + ", got '" + std::string(s) + "'");
  }
  return n;
}

// Applies f(value, result) to each value of argument 0.
template <class F>
Status MapEach(const Node& node, const EvalContext& ctx, Values& out, F f) {
  Arg x;
  IDSYNC_TRY(EvalArg(node, 0, ctx, x));
  out.clear();
  out.reserve(x.values->size());
  for (const std::string& v : *x.values) {
    out.emplace_back();
    IDSYNC_TRY(f(std::string_view(v), out.back()));
  }
  return {};
}

Status Replace(const Node& node, const EvalContext& ctx, Values& out) {
  Arg from, to;
  IDSYNC_TRY(EvalArg(node, 1, ctx, from));
  IDSYNC_TRY(EvalArg(node, 2, ctx, to));
  std::string_view old_text = from.First(), new_text = to.First();
  return MapEach(node, ctx, out, [&](std::string_view v, std::string& r) -> Status {
    if (old_text.empty()) {
      r.assign(v);
      return {};
    }
    size_t pos = 0;
    for (size_t hit; (hit = v.find(old_text, pos)) != std::string_view::npos;
         pos = hit + old_text.size()) {
      r.append(v.substr(pos, hit - pos)).append(new_text);
    }
    r.append(v.substr(pos));
    return {};
  });
}

Status Split(const Node& node, const EvalContext& ctx, Values& out) {
  Arg x, sep_arg;
  IDSYNC_TRY(EvalArg(node, 0, ctx, x));
  IDSYNC_TRY(EvalArg(node, 1, ctx, sep_arg));
  std::string_view sep = sep_arg.First();
  if (sep.empty()) return FnError(node, "the separator is empty");
  out.clear();
  for (std::string_view v : *x.values) {
    size_t pos = 0;
    while (pos <= v.size()) {
      size_t hit = v.find(sep, pos);
      if (hit == std::string_view::npos) hit = v.size();
      if (hit > pos) out.emplace_back(v.substr(pos, hit - pos));  // empty pieces are dropped
      pos = hit + sep.size();
    }
  }
  return {};
}

Status Join(const Node& node, const EvalContext& ctx, Values& out) {
  Arg x, sep;
  IDSYNC_TRY(EvalArg(node, 0, ctx, x));
  IDSYNC_TRY(EvalArg(node, 1, ctx, sep));
  if (x.values->empty()) {
    out.clear();
    return {};
  }
  std::string joined;
  for (size_t i = 0; i < x.values->size(); ++i) {
    if (i > 0) joined.append(sep.First());
    joined.append((*x.values)[i]);
  }
  out.clear();
  out.push_back(std::move(joined));
  return {};
}

Status FormatDates(const Node& node, const EvalContext& ctx, Values& out) {
  Arg in_arg, out_arg;
  IDSYNC_TRY(EvalArg(node, 1, ctx, in_arg));
  IDSYNC_TRY(EvalArg(node, 2, ctx, out_arg));
  if (in_arg.values->empty()) return FnError(node, "the input format is null");
  if (out_arg.values->empty()) return FnError(node, "the output format is null");
  std::string in_format(in_arg.First()), out_format(out_arg.First());
  return MapEach(node, ctx, out, [&](std::string_view v, std::string& r) -> Status {
    auto formatted = FormatDate(v, in_format, out_format);
    if (!formatted) return FnError(node, formatted.error().message);
    r = std::move(*formatted);
    return {};
  });
}

}  // namespace

Status EvalBuiltin(const Node& node, const EvalContext& ctx, Values& out) {
  switch (node.builtin) {
    case Builtin::kLower:
      return MapEach(node, ctx, out, [](std::string_view v, std::string& r) -> Status {
        AppendLower(v, r);
        return {};
      });
    case Builtin::kUpper:
      return MapEach(node, ctx, out, [](std::string_view v, std::string& r) -> Status {
        AppendUpper(v, r);
        return {};
      });
    case Builtin::kTrim:
      return MapEach(node, ctx, out, [](std::string_view v, std::string& r) -> Status {
        r.assign(TrimSpace(v));
        return {};
      });
    case Builtin::kLeft: {
      IDSYNC_ASSIGN(int64_t n, IntArg(node, 1, ctx, "length", 0));
      return MapEach(node, ctx, out, [n](std::string_view v, std::string& r) -> Status {
        r.assign(v.substr(0, Utf8Skip(v, 0, static_cast<uint64_t>(n))));
        return {};
      });
    }
    case Builtin::kRight: {
      IDSYNC_ASSIGN(int64_t n, IntArg(node, 1, ctx, "length", 0));
      return MapEach(node, ctx, out, [n](std::string_view v, std::string& r) -> Status {
        size_t length = Utf8Length(v);
        size_t skip = length > static_cast<uint64_t>(n) ? length - static_cast<size_t>(n) : 0;
        r.assign(v.substr(Utf8Skip(v, 0, skip)));
        return {};
      });
    }
    case Builtin::kMid: {
      IDSYNC_ASSIGN(int64_t start, IntArg(node, 1, ctx, "start", 1));
      IDSYNC_ASSIGN(int64_t n, IntArg(node, 2, ctx, "length", 0));
      return MapEach(node, ctx, out, [start, n](std::string_view v, std::string& r) -> Status {
        size_t begin = Utf8Skip(v, 0, static_cast<uint64_t>(start - 1));
        r.assign(v.substr(begin, Utf8Skip(v, begin, static_cast<uint64_t>(n)) - begin));
        return {};
      });
    }
    case Builtin::kReplace:
      return Replace(node, ctx, out);
    case Builtin::kSplit:
      return Split(node, ctx, out);
    case Builtin::kJoin:
      return Join(node, ctx, out);
    case Builtin::kIif: {
      Arg cond;
      IDSYNC_TRY(EvalArg(node, 0, ctx, cond));
      return EvalInto(node.args[IsTruthy(*cond.values) ? 1 : 2], ctx, out);
    }
    case Builtin::kIsPresent: {
      Arg x;
      IDSYNC_TRY(EvalArg(node, 0, ctx, x));
      out.clear();
      if (!x.values->empty()) out.emplace_back("true");
      return {};
    }
    case Builtin::kCoalesce:
      for (const Node& arg : node.args) {
        IDSYNC_TRY(EvalInto(arg, ctx, out));
        if (!out.empty()) return {};
      }
      return {};
    case Builtin::kFormatDate:
      return FormatDates(node, ctx, out);
    case Builtin::kCount: {
      Arg x;
      IDSYNC_TRY(EvalArg(node, 0, ctx, x));
      out.assign(1, std::to_string(x.values->size()));
      return {};
    }
    case Builtin::kFirst: {
      Arg x;
      IDSYNC_TRY(EvalArg(node, 0, ctx, x));
      if (x.values->empty()) {
        out.clear();
      } else {
        out.assign(1, x.values->front());
      }
      return {};
    }
    case Builtin::kNull:
      out.clear();
      return {};
  }
  return Fail(ErrorCode::kInternal, "unknown built-in function");
}

}  // namespace rules
}  // namespace idsync
