// scripts/pg-test-server.sh, the tests' own PostgreSQL server: a server that
// could not bind one of its addresses must not pass for a started one.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace idsync {
namespace {

std::string Script() { return std::string(IDSYNC_SOURCE_DIR) + "/scripts/pg-test-server.sh"; }

// A socket bound to 127.0.0.1 on a port the kernel picks, not listening: as
// the local end of a connection holds a port, which no check for listening
// sockets sees.
class HeldPort {
 public:
  HeldPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~HeldPort() {
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(PgTestServerTest, AServerThatCannotListenOnLoopbackIsNotReportedAsStarted) {
  HeldPort held;
  ASSERT_NE(held.port(), 0);
  TempDir dir;
  // 127.0.0.2 binds (all of 127/8 is loopback), 127.0.0.1 on this port does
  // not; PostgreSQL itself starts on the one address it could bind.
  auto r = RunProgram("/bin/bash", {Script(), "start", dir.path().string(), std::to_string(held.port()),
                                    "--listen", "127.0.0.2"});
  if (r.exit_code == 3) GTEST_SKIP() << "PostgreSQL is not installed: " << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("could not create listen socket for \"127.0.0.1\""), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << "no URL for a server the tests cannot reach: " << r.out;
  // Nothing is left running in the folder.
  RunProgram("/bin/bash", {Script(), "stop", dir.path().string(), "--discard"});
  EXPECT_EQ(RunProgram("/usr/bin/pgrep", {"-f", "postgres -D " + dir.path().string()}).exit_code, 1);
}

}  // namespace
}  // namespace idsync
