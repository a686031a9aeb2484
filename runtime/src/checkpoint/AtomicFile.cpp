//===- AtomicFile.cpp - files that appear whole or not at all -------------===//

#include "AtomicFile.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

namespace moert {

namespace {

bool writeAll(int fd, std::string_view bytes) {
  const char *p = bytes.data();
  size_t size = bytes.size();
  while (size > 0) {
    ssize_t written = ::write(fd, p, size);
    if (written <= 0)
      return false;
    p += written;
    size -= written;
  }
  return true;
}

} // namespace

Status syncDirectory(const std::string &directory) {
  std::string path = directory.empty() ? "." : directory;
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0 || ::fsync(fd) != 0) {
    std::string reason = std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    return Status::error(path + ": cannot sync: " + reason);
  }
  ::close(fd);
  return Status();
}

Status writeFileAtomically(const std::string &path,
                           const std::vector<std::string_view> &pieces) {
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return Status::error(path + ": cannot write: " + std::strerror(errno));
  bool ok = true;
  for (std::string_view piece : pieces)
    ok = ok && writeAll(fd, piece);
  ok = ok && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string reason = std::strerror(errno);
    std::remove(temporary.c_str());
    return Status::error(path + ": cannot write: " + reason);
  }
  return syncDirectory(std::filesystem::path(path).parent_path().string());
}

} // namespace moert
