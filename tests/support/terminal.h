// tests/support/terminal: runs a program of the build on a pseudo-terminal
// and answers its questions, as an administrator at a console would.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.h"

namespace idsync {

// Each (prompt, answer): when the terminal output shows `prompt` (after the
// previous one), `answer` and a newline are typed. Everything the program
// wrote to the terminal comes back in `out`; `err` stays empty. A program
// still running 30 s after its last answer is killed (exit code 128+9).
// `observe`, when given, is called with the program's pid and the prompt's
// index just before each answer is typed (to look at the running process).
ProcessResult RunOnTerminal(const std::string& program, const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env,
                            const std::vector<std::pair<std::string, std::string>>& dialogue,
                            const std::function<void(int pid, size_t prompt)>& observe = {});

}  // namespace idsync
