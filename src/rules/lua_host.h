// rules/lua_host: runs extension functions written in Lua 5.4.
//
// An ExtensionHost owns one sandboxed Lua state holding every extension's
// global functions. The sandbox offers only what pure computation needs:
// the base functions without load/loadfile/dofile/require/collectgarbage/
// print (and setmetatable refuses __gc), plus the string (without dump),
// table, math and utf8 libraries; there is no io, os, package or debug.
// Each Call runs under an instruction limit and the state under a memory
// limit; a failed Call leaves the host usable. Lua errors never escape as
// exceptions.
//
// Thread-safety: none. A host is used by one thread at a time; give each
// worker thread its own host (Load is cheap).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/attributes.h"
#include "core/error.h"

namespace idsync {

struct ExtensionSource {
  std::string name;  // e.g. "hr_rules"; shown in error messages as "hr_rules:3: ..."
  std::string code;  // Lua source text (precompiled bytecode is refused)
};

struct LuaLimits {
  int64_t max_instructions = 1'000'000;  // per Call, and per source's top-level code
  size_t max_memory_bytes = 32 << 20;    // for the whole state
};

class ExtensionHost {
 public:
  // Runs each source's top-level code in one new state. Fails with kConfig,
  // naming the extension and line, on a syntax error, a runtime error or a
  // limit hit in top-level code, or on limits that are not positive.
  static Result<std::unique_ptr<ExtensionHost>> Load(const std::vector<ExtensionSource>& sources,
                                                     LuaLimits limits = {});
  ~ExtensionHost();
  ExtensionHost(const ExtensionHost&) = delete;
  ExtensionHost& operator=(const ExtensionHost&) = delete;

  // Whether the sources defined a global function of this exact
  // (case-sensitive) name. Functions are captured when Load finishes, so
  // later reassignment of the global does not change what Call runs.
  bool HasFunction(std::string_view name) const;
  // The captured function names, sorted.
  std::vector<std::string> FunctionNames() const;

  // Calls function with one Lua argument per element of args: nil for null,
  // a string for one value, an array table for several. The function may
  // return nil (null), a string or number (one value) or an array table of
  // strings or numbers (its values). Fails with kNotFound for an unknown
  // function, kLimit for "instruction limit of N exceeded in F" and "memory
  // limit exceeded in F", and kInvalidArgument for a Lua error (message
  // "F: hr_rules:3: ...") or a return value of another type.
  Result<Values> Call(std::string_view function, const std::vector<Values>& args);

  struct State;  // the Lua state and its accounting; defined in lua_host.cc

 private:
  explicit ExtensionHost(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace idsync
