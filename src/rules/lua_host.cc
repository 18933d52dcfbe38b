#include "rules/lua_host.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <lua.hpp>
#include <map>

namespace idsync {

struct ExtensionHost::State {
  lua_State* lua = nullptr;
  LuaLimits limits;
  size_t used = 0;              // bytes currently allocated by the state
  bool memory_refused = false;  // an allocation was refused since the last Arm
  int64_t instructions_left = 0;
  int hook_step = 0;  // instructions between two runs of the hook
  bool instructions_exceeded = false;
  std::map<std::string, int, std::less<>> functions;  // name -> registry reference

  ~State() {
    if (lua != nullptr) lua_close(lua);
  }
};

namespace {

using State = ExtensionHost::State;

constexpr const char* kAllowedGlobals[] = {
    "_G",     "_VERSION", "assert",       "error",    "getmetatable", "ipairs",
    "next",   "pairs",    "pcall",        "rawequal", "rawget",       "rawlen",
    "rawset", "select",   "setmetatable", "tonumber", "tostring",     "type",
    "xpcall", "string",   "table",        "math",     "utf8",
};

bool IsSandboxGlobal(std::string_view name) {
  return std::find(std::begin(kAllowedGlobals), std::end(kAllowedGlobals), name) !=
         std::end(kAllowedGlobals);
}

State* StateOf(lua_State* lua) {
  void* ud = nullptr;
  lua_getallocf(lua, &ud);
  return static_cast<State*>(ud);
}

// The state's allocator: refuses to grow past the memory limit, which Lua
// turns into a "not enough memory" error (LUA_ERRMEM).
void* Allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* state = static_cast<State*>(ud);
  size_t old = ptr != nullptr ? osize : 0;  // for new blocks osize is a type tag
  if (nsize == 0) {
    std::free(ptr);
    state->used -= old;
    return nullptr;
  }
  if (nsize > old && state->used - old + nsize > state->limits.max_memory_bytes) {
    state->memory_refused = true;
    return nullptr;
  }
  void* block = std::realloc(ptr, nsize);
  if (block == nullptr) {
    if (nsize <= old)
      block = ptr;  // Lua assumes shrinking never fails
    else
      return nullptr;
  }
  state->used = state->used - old + nsize;
  return block;
}

void CountHook(lua_State* lua, lua_Debug*) {
  State* state = StateOf(lua);
  if (!state->instructions_exceeded) {
    state->instructions_left -= state->hook_step;
    if (state->instructions_left > 0) {
      state->hook_step = static_cast<int>(std::min<int64_t>(state->instructions_left, INT_MAX));
      lua_sethook(lua, CountHook, LUA_MASKCOUNT, state->hook_step);
      return;
    }
    state->instructions_exceeded = true;
    // From now on every instruction fails, so a pcall in the script cannot
    // swallow the error and keep running.
    lua_sethook(lua, CountHook, LUA_MASKCOUNT, 1);
  }
  luaL_error(lua, "instruction limit exceeded");
}

// Starts a fresh instruction budget and clears the limit flags.
void Arm(State* state) {
  state->instructions_left = state->limits.max_instructions;
  state->instructions_exceeded = false;
  state->memory_refused = false;
  state->hook_step = static_cast<int>(std::min<int64_t>(state->instructions_left, INT_MAX));
  lua_sethook(state->lua, CountHook, LUA_MASKCOUNT, state->hook_step);
}

// Runs body(lua) in protected mode, so that every Lua error, including
// memory errors raised by pushing values, is caught. Returns a Lua status.
template <class Body>
int RunProtected(lua_State* lua, Body& body) {
  lua_pushcfunction(lua, [](lua_State* l) -> int {
    Body* b = static_cast<Body*>(lua_touserdata(l, 1));
    lua_remove(l, 1);
    return (*b)(l);
  });
  lua_pushlightuserdata(lua, &body);
  return lua_pcall(lua, 1, 0, 0);
}

// The error object on top of the stack as text, without allocating in Lua.
std::string ErrorText(lua_State* lua) {
  if (lua_type(lua, -1) == LUA_TSTRING) {
    size_t n = 0;
    const char* s = lua_tolstring(lua, -1, &n);
    return std::string(s, n);
  }
  return std::string("(error object is a ") + luaL_typename(lua, -1) + " value)";
}

// Describes a failed run: which limit was hit, or the Lua message.
Error Failure(State* state, int status, const std::string& where, ErrorCode lua_error_code) {
  std::string text = ErrorText(state->lua);
  lua_settop(state->lua, 0);
  bool memory = status == LUA_ERRMEM ||
                (state->memory_refused && text.find("not enough memory") != std::string::npos);
  if (memory) {
    lua_gc(state->lua, LUA_GCCOLLECT);  // give back what the failed run left behind
    return Error{ErrorCode::kLimit, "memory limit exceeded in " + where + " (limit " +
                                        std::to_string(state->limits.max_memory_bytes) + " bytes)"};
  }
  if (state->instructions_exceeded) {
    return Error{ErrorCode::kLimit, "instruction limit of " +
                                        std::to_string(state->limits.max_instructions) +
                                        " exceeded in " + where};
  }
  return Error{lua_error_code, where + ": " + text};
}

// setmetatable that refuses __gc: finalizers run with hooks disabled, so
// they would escape the instruction limit.
int SafeSetMetatable(lua_State* lua) {
  if (lua_type(lua, 2) == LUA_TTABLE) {
    lua_pushliteral(lua, "__gc");
    if (lua_rawget(lua, 2) != LUA_TNIL) return luaL_error(lua, "__gc metamethods are not allowed");
    lua_pop(lua, 1);
  }
  lua_pushvalue(lua, lua_upvalueindex(1));
  lua_insert(lua, 1);
  lua_call(lua, lua_gettop(lua) - 1, 1);
  return 1;
}

int OpenSandbox(lua_State* lua) {
  const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                           {LUA_STRLIBNAME, luaopen_string},
                           {LUA_TABLIBNAME, luaopen_table},
                           {LUA_MATHLIBNAME, luaopen_math},
                           {LUA_UTF8LIBNAME, luaopen_utf8}};
  for (const luaL_Reg& lib : libs) {
    luaL_requiref(lua, lib.name, lib.func, 1);
    lua_pop(lua, 1);
  }
  lua_pushglobaltable(lua);
  lua_pushnil(lua);
  while (lua_next(lua, -2) != 0) {
    lua_pop(lua, 1);
    if (lua_type(lua, -1) != LUA_TSTRING || !IsSandboxGlobal(lua_tostring(lua, -1))) {
      lua_pushvalue(lua, -1);
      lua_pushnil(lua);
      lua_rawset(lua, -4);  // clearing fields during traversal is allowed
    }
  }
  lua_getfield(lua, -1, "setmetatable");
  lua_pushcclosure(lua, SafeSetMetatable, 1);
  lua_setfield(lua, -2, "setmetatable");
  lua_getfield(lua, -1, LUA_STRLIBNAME);
  lua_pushnil(lua);
  lua_setfield(lua, -2, "dump");
  lua_pop(lua, 2);
  return 0;
}

void PushValues(lua_State* lua, const Values& values) {
  if (values.empty()) {
    lua_pushnil(lua);
  } else if (values.size() == 1) {
    lua_pushlstring(lua, values[0].data(), values[0].size());
  } else {
    lua_createtable(lua, static_cast<int>(std::min<size_t>(values.size(), INT_MAX)), 0);
    for (size_t i = 0; i < values.size(); ++i) {
      lua_pushlstring(lua, values[i].data(), values[i].size());
      lua_rawseti(lua, -2, static_cast<lua_Integer>(i) + 1);
    }
  }
}

// Appends the string or number at index to out; false for other types.
bool TakeScalar(lua_State* lua, int index, Values& out) {
  int type = lua_type(lua, index);
  if (type != LUA_TSTRING && type != LUA_TNUMBER) return false;
  size_t n = 0;
  const char* s = lua_tolstring(lua, index, &n);
  out.emplace_back(s, n);
  return true;
}

// Converts the value on top of the stack; sets *bad on an unusable value.
void TakeResult(lua_State* lua, Values& out, std::string& bad) {
  int type = lua_type(lua, -1);
  if (type == LUA_TNIL || TakeScalar(lua, -1, out)) return;
  if (type != LUA_TTABLE) {
    bad = std::string("returned a ") + lua_typename(lua, type) +
          "; expected nil, a string, a number or an array of strings";
    return;
  }
  lua_Unsigned n = lua_rawlen(lua, -1);
  for (lua_Unsigned i = 1; i <= n; ++i) {
    lua_rawgeti(lua, -1, static_cast<lua_Integer>(i));
    if (!TakeScalar(lua, -1, out)) {
      bad = "returned a table whose element " + std::to_string(i) + " is a " +
            luaL_typename(lua, -1) + "; expected strings";
      return;
    }
    lua_pop(lua, 1);
  }
}

}  // namespace

ExtensionHost::ExtensionHost(std::unique_ptr<State> state) : state_(std::move(state)) {}
ExtensionHost::~ExtensionHost() = default;

Result<std::unique_ptr<ExtensionHost>> ExtensionHost::Load(
    const std::vector<ExtensionSource>& sources, LuaLimits limits) {
  if (limits.max_instructions <= 0)
    return Fail(ErrorCode::kConfig, "the Lua instruction limit must be positive");
  if (limits.max_memory_bytes == 0)
    return Fail(ErrorCode::kConfig, "the Lua memory limit must be positive");
  try {
    auto state = std::make_unique<State>();
    state->limits = limits;
    state->lua = lua_newstate(Allocate, state.get());
    if (state->lua == nullptr) {
      return Fail(ErrorCode::kConfig, "cannot create a Lua state within the memory limit of " +
                                          std::to_string(limits.max_memory_bytes) + " bytes");
    }
    lua_State* lua = state->lua;
    Arm(state.get());
    auto open = [](lua_State* l) { return OpenSandbox(l); };
    if (int status = RunProtected(lua, open); status != LUA_OK) {
      return tl::unexpected(
          Failure(state.get(), status, "the Lua sandbox setup", ErrorCode::kConfig));
    }
    for (const ExtensionSource& source : sources) {
      if (source.name.empty()) return Fail(ErrorCode::kConfig, "an extension has an empty name");
      std::string where = "extension '" + source.name + "'";
      Arm(state.get());
      std::string chunk = "=" + source.name;
      int status =
          luaL_loadbufferx(lua, source.code.data(), source.code.size(), chunk.c_str(), "t");
      if (status == LUA_OK) status = lua_pcall(lua, 0, 0, 0);
      if (status != LUA_OK) {
        Error e = Failure(state.get(), status, where, ErrorCode::kConfig);
        e.code = ErrorCode::kConfig;
        return tl::unexpected(std::move(e));
      }
    }
    // Capture every global function the sources defined.
    State* s = state.get();
    auto collect = [s](lua_State* l) -> int {
      lua_pushglobaltable(l);
      lua_pushnil(l);
      while (lua_next(l, -2) != 0) {
        if (lua_type(l, -2) == LUA_TSTRING && lua_type(l, -1) == LUA_TFUNCTION &&
            !IsSandboxGlobal(lua_tostring(l, -2))) {
          std::string name = lua_tostring(l, -2);
          s->functions[name] = luaL_ref(l, LUA_REGISTRYINDEX);  // pops the value
        } else {
          lua_pop(l, 1);
        }
      }
      lua_pop(l, 1);
      return 0;
    };
    if (int status = RunProtected(lua, collect); status != LUA_OK) {
      return tl::unexpected(
          Failure(state.get(), status, "collecting extension functions", ErrorCode::kConfig));
    }
    return std::unique_ptr<ExtensionHost>(new ExtensionHost(std::move(state)));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("loading Lua extensions failed: ") + e.what());
  } catch (...) {
    return Fail(ErrorCode::kInternal, "loading Lua extensions failed");
  }
}

bool ExtensionHost::HasFunction(std::string_view name) const {
  return state_->functions.find(name) != state_->functions.end();
}

std::vector<std::string> ExtensionHost::FunctionNames() const {
  std::vector<std::string> names;
  for (const auto& [name, ref] : state_->functions) names.push_back(name);
  return names;
}

Result<Values> ExtensionHost::Call(std::string_view function, const std::vector<Values>& args) {
  try {
    auto it = state_->functions.find(function);
    if (it == state_->functions.end()) {
      return Fail(ErrorCode::kNotFound,
                  "no extension function named '" + std::string(function) + "'");
    }
    lua_State* lua = state_->lua;
    lua_settop(lua, 0);
    Arm(state_.get());
    const int ref = it->second;
    Values result;
    std::string bad;
    auto body = [&](lua_State* l) -> int {
      luaL_checkstack(l, static_cast<int>(std::min<size_t>(args.size(), INT_MAX - 8)) + 2,
                      "too many arguments");
      lua_rawgeti(l, LUA_REGISTRYINDEX, ref);
      for (const Values& arg : args) PushValues(l, arg);
      lua_call(l, static_cast<int>(args.size()), 1);
      TakeResult(l, result, bad);
      return 0;
    };
    int status = RunProtected(lua, body);
    if (status != LUA_OK)
      return tl::unexpected(Failure(state_.get(), status, it->first, ErrorCode::kInvalidArgument));
    lua_settop(lua, 0);
    if (!bad.empty()) return Fail(ErrorCode::kInvalidArgument, it->first + ": " + bad);
    return result;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, "calling " + std::string(function) + " failed: " + e.what());
  } catch (...) {
    return Fail(ErrorCode::kInternal, "calling " + std::string(function) + " failed");
  }
}

}  // namespace idsync
