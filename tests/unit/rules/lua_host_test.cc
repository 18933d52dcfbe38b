#include "rules/lua_host.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "eval_helpers.h"
#include "rules/expression.h"

namespace idsync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::unique_ptr<ExtensionHost> MustLoad(const std::string& code, LuaLimits limits = {}) {
  auto host = ExtensionHost::Load({{"hr_rules", code}}, limits);
  if (!host) {
    ADD_FAILURE() << host.error().message;
    return nullptr;
  }
  return std::move(*host);
}

Error LoadError(const std::vector<ExtensionSource>& sources, LuaLimits limits = {}) {
  auto host = ExtensionHost::Load(sources, limits);
  if (host) {
    ADD_FAILURE() << "load unexpectedly succeeded";
    return Error{ErrorCode::kInternal, ""};
  }
  EXPECT_EQ(host.error().code, ErrorCode::kConfig) << host.error().message;
  return host.error();
}

TEST(LuaHostTest, CallsAFunctionWithStringArguments) {
  auto host = MustLoad("function greet(a, b) return a .. ' ' .. b end");
  ASSERT_TRUE(host);
  auto result = host->Call("greet", {{"Ada"}, {"Lovelace"}});
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_THAT(*result, ElementsAre("Ada Lovelace"));
}

TEST(LuaHostTest, NullArgumentArrivesAsNil) {
  auto host = MustLoad("function kind(x) return x == nil and 'nil' or type(x) end");
  ASSERT_TRUE(host);
  EXPECT_THAT(*host->Call("kind", {{}}), ElementsAre("nil"));
  EXPECT_THAT(*host->Call("kind", {{"v"}}), ElementsAre("string"));
}

TEST(LuaHostTest, MultiValuedArgumentArrivesAsAnArrayTable) {
  auto host = MustLoad("function describe(t) return type(t) .. #t .. t[1] .. t[3] end");
  ASSERT_TRUE(host);
  EXPECT_THAT(*host->Call("describe", {{"a", "b", "c"}}), ElementsAre("table3ac"));
}

TEST(LuaHostTest, ReturnValuesBecomeValues) {
  auto host = MustLoad(R"(
    function none() return nil end
    function nothing() end
    function number() return 42 end
    function list() return {'x', 'y', 7} end
    function emptylist() return {} end
  )");
  ASSERT_TRUE(host);
  EXPECT_THAT(*host->Call("none", {}), IsEmpty());
  EXPECT_THAT(*host->Call("nothing", {}), IsEmpty());
  EXPECT_THAT(*host->Call("number", {}), ElementsAre("42"));
  EXPECT_THAT(*host->Call("list", {}), ElementsAre("x", "y", "7"));
  EXPECT_THAT(*host->Call("emptylist", {}), IsEmpty());
}

TEST(LuaHostTest, ReturningAnUnusableValueIsAnError) {
  auto host = MustLoad(R"(
    function flag() return true end
    function mixed() return {'a', false} end
  )");
  ASSERT_TRUE(host);
  auto flag = host->Call("flag", {});
  ASSERT_FALSE(flag);
  EXPECT_EQ(flag.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(flag.error().message, HasSubstr("flag: returned a boolean"));
  auto mixed = host->Call("mixed", {});
  ASSERT_FALSE(mixed);
  EXPECT_THAT(mixed.error().message,
              HasSubstr("mixed: returned a table whose element 2 is a boolean"));
}

TEST(LuaHostTest, HasFunctionListsOnlyGlobalFunctionsTheSourcesDefine) {
  auto host =
      ExtensionHost::Load({{"a", "function one() end\nlocal function hidden() end\nvalue = 3"},
                           {"b", "two = function() end"}});
  ASSERT_TRUE(host) << host.error().message;
  EXPECT_TRUE((*host)->HasFunction("one"));
  EXPECT_TRUE((*host)->HasFunction("two"));
  EXPECT_FALSE((*host)->HasFunction("ONE"));
  EXPECT_FALSE((*host)->HasFunction("hidden"));
  EXPECT_FALSE((*host)->HasFunction("value"));
  EXPECT_FALSE((*host)->HasFunction("tostring"));
  EXPECT_THAT((*host)->FunctionNames(), ElementsAre("one", "two"));
}

TEST(LuaHostTest, UnknownFunctionIsNotFound) {
  auto host = MustLoad("function f() end");
  ASSERT_TRUE(host);
  auto result = host->Call("g", {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(result.error().message, HasSubstr("'g'"));
}

TEST(LuaHostTest, SyntaxErrorFailsLoadNamingTheExtensionAndLine) {
  Error e =
      LoadError({{"ok", "function f() end"}, {"hr_rules", "function f()\n  return 1 +\nend"}});
  EXPECT_THAT(e.message, HasSubstr("extension 'hr_rules'"));
  EXPECT_THAT(e.message, HasSubstr("hr_rules:3:"));
}

TEST(LuaHostTest, RuntimeErrorInTopLevelCodeFailsLoad) {
  Error e = LoadError({{"hr_rules", "local x = 1\nerror('bad setup')"}});
  EXPECT_THAT(e.message, HasSubstr("hr_rules:2: bad setup"));
}

TEST(LuaHostTest, InfiniteLoopInTopLevelCodeFailsLoad) {
  Error e = LoadError({{"hr_rules", "while true do end"}}, {.max_instructions = 10000});
  EXPECT_THAT(e.message, HasSubstr("instruction limit of 10000 exceeded in extension 'hr_rules'"));
}

TEST(LuaHostTest, NonPositiveLimitsAreRefused) {
  LoadError({{"a", ""}}, {.max_instructions = 0});
  LoadError({{"a", ""}}, {.max_instructions = 1000, .max_memory_bytes = 0});
}

TEST(LuaHostTest, TooSmallMemoryLimitFailsLoadCleanly) {
  Error e = LoadError({{"a", "function f() end"}}, {.max_memory_bytes = 1024});
  EXPECT_THAT(e.message, HasSubstr("memory"));
}

TEST(LuaHostTest, LuaErrorNamesTheFunctionExtensionAndLine) {
  auto host = MustLoad("function fmt(x)\n  local y = 1\n  error('no ' .. x)\nend");
  ASSERT_TRUE(host);
  auto result = host->Call("fmt", {{"way"}});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.error().message, "fmt: hr_rules:3: no way");
}

TEST(LuaHostTest, NonStringErrorObjectIsDescribed) {
  auto host = MustLoad("function f() error({}) end");
  ASSERT_TRUE(host);
  EXPECT_THAT(host->Call("f", {}).error().message, HasSubstr("error object is a table value"));
}

TEST(LuaHostTest, InfiniteLoopStopsAtInstructionLimit) {
  auto host = MustLoad("function spin() while true do end end", {.max_instructions = 10000});
  ASSERT_TRUE(host);
  auto result = host->Call("spin", {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kLimit);
  EXPECT_EQ(result.error().message, "instruction limit of 10000 exceeded in spin");
}

TEST(LuaHostTest, InstructionLimitAppliesPerCall) {
  auto host = MustLoad("function work() local s = 0 for i = 1, 2000 do s = s + i end return s end",
                       {.max_instructions = 10000});
  ASSERT_TRUE(host);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(host->Call("work", {})) << i;
}

TEST(LuaHostTest, PcallCannotSwallowTheInstructionLimit) {
  auto host = MustLoad(R"(
    function stubborn()
      while true do pcall(function() while true do end end) end
    end)",
                       {.max_instructions = 10000});
  ASSERT_TRUE(host);
  auto result = host->Call("stubborn", {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kLimit);
}

TEST(LuaHostTest, MemoryLimitStopsTableGrowth) {
  auto host = MustLoad("function grow() local t = {} for i = 1, 1e8 do t[i] = i end end",
                       {.max_instructions = 1'000'000'000, .max_memory_bytes = 1 << 20});
  ASSERT_TRUE(host);
  auto result = host->Call("grow", {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kLimit);
  EXPECT_THAT(result.error().message, HasSubstr("memory limit exceeded in grow"));
}

TEST(LuaHostTest, MemoryLimitStopsStringGrowth) {
  auto host =
      MustLoad("function big() return string.rep('x', 1e8) end", {.max_memory_bytes = 1 << 20});
  ASSERT_TRUE(host);
  auto result = host->Call("big", {});
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("memory limit exceeded in big"));
}

TEST(LuaHostTest, HostIsUsableAfterAnError) {
  auto host = MustLoad(R"(
    function spin() while true do end end
    function grow() local t = {} for i = 1, 1e8 do t[i] = i end end
    function fail() error('boom') end
    function ok(x) return 'ok ' .. x end)",
                       {.max_instructions = 5'000'000, .max_memory_bytes = 1 << 20});
  ASSERT_TRUE(host);
  for (const char* bad : {"spin", "grow", "fail", "grow", "spin"}) {
    EXPECT_FALSE(host->Call(bad, {})) << bad;
    auto result = host->Call("ok", {{std::string(bad)}});
    ASSERT_TRUE(result) << bad << ": " << result.error().message;
    EXPECT_THAT(*result, ElementsAre(std::string("ok ") + bad));
  }
}

TEST(LuaHostTest, IoLibraryIsNotAvailable) {
  auto host = MustLoad("function probe() return type(io) end");
  ASSERT_TRUE(host);
  EXPECT_THAT(*host->Call("probe", {}), ElementsAre("nil"));
}

TEST(LuaHostTest, UnsafeGlobalsAreNotAvailable) {
  auto host = MustLoad("function probe(name) return type(_G[name]) end");
  ASSERT_TRUE(host);
  for (const char* name : {"io", "os", "package", "debug", "require", "load", "loadfile", "dofile",
                           "collectgarbage", "print", "warn"}) {
    EXPECT_THAT(*host->Call("probe", {{name}}), ElementsAre("nil")) << name;
  }
}

TEST(LuaHostTest, UsingARemovedLibraryIsALuaError) {
  auto host = MustLoad("function run() return os.execute('true') end");
  ASSERT_TRUE(host);
  auto result = host->Call("run", {});
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("global 'os'"));
}

TEST(LuaHostTest, PureComputationLibrariesAreAvailable) {
  auto host = MustLoad(R"(
    function compute(s)
      local parts = {}
      for w in string.gmatch(s, '%a+') do parts[#parts + 1] = w:upper() end
      return table.concat(parts, '-') .. math.floor(2.7) .. utf8.char(233) .. tostring(utf8.len(s))
    end)");
  ASSERT_TRUE(host);
  EXPECT_THAT(*host->Call("compute", {{"ab cd"}}), ElementsAre("AB-CD2é5"));
}

TEST(LuaHostTest, StringDumpIsNotAvailable) {
  auto host = MustLoad("function probe() return type(string.dump) end");
  ASSERT_TRUE(host);
  EXPECT_THAT(*host->Call("probe", {}), ElementsAre("nil"));
}

TEST(LuaHostTest, GcMetamethodsAreRefused) {
  auto host =
      MustLoad("function f() setmetatable({}, {__gc = function() while true do end end}) end");
  ASSERT_TRUE(host);
  auto result = host->Call("f", {});
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("__gc metamethods are not allowed"));
  auto plain =
      MustLoad("function g() return getmetatable(setmetatable({}, {__index = {}})) and 'ok' end");
  ASSERT_TRUE(plain);
  EXPECT_THAT(*plain->Call("g", {}), ElementsAre("ok"));
}

TEST(LuaHostTest, FunctionsAreCapturedWhenLoadingFinishes) {
  auto host = MustLoad("function a() b = nil return 'a' end\nfunction b() return 'b' end");
  ASSERT_TRUE(host);
  EXPECT_THAT(*host->Call("a", {}), ElementsAre("a"));
  EXPECT_THAT(*host->Call("b", {}), ElementsAre("b"));
}

TEST(LuaHostTest, ExpressionCallsExtensionFunctions) {
  auto host = MustLoad(R"(
    function initials(g, s) return g:sub(1, 1) .. s:sub(1, 1) end
    function each(t) local r = {} for i, v in ipairs(t) do r[i] = v .. '!' end return r end)");
  ASSERT_TRUE(host);
  AttributeMap attrs = {{"givenName", {"Ada"}}, {"sn", {"Lovelace"}}, {"tags", {"x", "y"}}};
  EXPECT_THAT(Eval("lower(initials(givenName, sn)) & \"@x\"", attrs, host.get()),
              ElementsAre("al@x"));
  EXPECT_THAT(Eval("each(tags)", attrs, host.get()), ElementsAre("x!", "y!"));
}

TEST(LuaHostTest, ExtensionErrorsPassThroughEvaluation) {
  auto host =
      MustLoad("function boom(x) error('cannot ' .. x) end\nfunction spin() while true do end end",
               {.max_instructions = 10000});
  ASSERT_TRUE(host);
  EXPECT_THAT(EvalError("boom(\"do\")", {}, host.get()), HasSubstr("boom: hr_rules:1: cannot do"));
  auto spin = EvalResult("spin()", {}, host.get());
  ASSERT_FALSE(spin);
  EXPECT_EQ(spin.error().code, ErrorCode::kLimit);
}

TEST(LuaHostTest, FunctionTheHostLacksIsAnEvaluationError) {
  auto host = MustLoad("function known() end");
  ASSERT_TRUE(host);
  EXPECT_THAT(EvalError("unknown(1)", {}, host.get()), HasSubstr("unknown function 'unknown'"));
}

TEST(LuaHostTest, BuiltinsTakePrecedenceOverExtensions) {
  auto host = MustLoad("function lower(x) return 'from lua' end");
  ASSERT_TRUE(host);
  EXPECT_THAT(Eval("lower(\"ABC\")", {}, host.get()), ElementsAre("abc"));
}

}  // namespace
}  // namespace idsync
