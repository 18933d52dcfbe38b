// Every program of src/exe allocates through mimalloc (docs/architecture.md,
// "exe"): linked ahead of the C library, its malloc serves the process.
// mimalloc says so on standard error when MIMALLOC_VERBOSE is set; a
// program linked without it prints no such line.
#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace idsync {
namespace {

TEST(ProgramsTest, EveryProgramAllocatesThroughMimalloc) {
  for (const char* program : {"idsync", "idsync-setup", "idsync-kmu", "idsync-activate", "idsyncd"}) {
    ProcessResult r = RunProgram(program, {"--help"}, {{"MIMALLOC_VERBOSE", "1"}});
    EXPECT_EQ(r.exit_code, 0) << program << ": " << r.err;
    EXPECT_NE(r.err.find("mimalloc: process init"), std::string::npos) << program << " did not start mimalloc";
  }
}

}  // namespace
}  // namespace idsync
