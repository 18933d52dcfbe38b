#include "store/sqlite/write_turns.h"

#include <fcntl.h>
#include <unistd.h>

#include <thread>

namespace idsync {
namespace {

bool LockByte(int fd, short type, int cmd) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 1;
  return fcntl(fd, cmd, &lock) == 0;
}

}  // namespace

WriteTurns::WriteTurns(const std::string& db_path) {
  if (db_path.empty()) return;
  fd_ = ::open((db_path + "-turns").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

WriteTurns::~WriteTurns() {
  if (fd_ >= 0) ::close(fd_);
}

bool WriteTurns::OthersWaiting() {
  if (fd_ < 0) return false;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 1;
  // F_OFD_GETLK reports locks of other open file descriptions, including
  // other connections of this process.
  if (fcntl(fd_, F_OFD_GETLK, &probe) != 0) return false;
  return probe.l_type != F_UNLCK;
}

void WriteTurns::YieldToWaiters(std::chrono::milliseconds patience) {
  if (fd_ < 0 || announced_) return;
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (OthersWaiting() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(500));
}

void WriteTurns::AnnounceWaiting() {
  if (fd_ < 0 || announced_) return;
  announced_ = LockByte(fd_, F_RDLCK, F_OFD_SETLK);
}

void WriteTurns::StopWaiting() {
  if (fd_ < 0 || !announced_) return;
  LockByte(fd_, F_UNLCK, F_OFD_SETLK);
  announced_ = false;
}

}  // namespace idsync
