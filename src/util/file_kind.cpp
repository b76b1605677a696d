// What is at a path where a data file should be.
#include "relnet/util/file_kind.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace relnet {
namespace {

// The target of the symbolic link `path`, or "" when it cannot be read.
std::string link_target(const std::string& path) {
  std::vector<char> buffer(4096);
  const ssize_t n = ::readlink(path.c_str(), buffer.data(), buffer.size() - 1);
  return n > 0 ? std::string(buffer.data(), static_cast<size_t>(n)) : std::string();
}

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "is a directory";
  if (S_ISFIFO(mode)) return "is a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "is a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "is a device";
  return "is not a regular file";
}

}  // namespace

std::string why_not_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return S_ISREG(st.st_mode) ? "" : kind_of(st.st_mode);
  const int err = errno;
  if (err == ELOOP) return "is a symbolic link loop";
  if (err == ENOENT) {
    struct stat own {};
    if (::lstat(path.c_str(), &own) == 0 && S_ISLNK(own.st_mode)) {
      return "is a symbolic link to a missing file ('" + link_target(path) + "')";
    }
    return "does not exist";
  }
  if (err == ENOTDIR) return "does not exist (a parent is not a directory)";
  return std::string("cannot be examined: ") + std::strerror(err);
}

void require_data_file(const std::string& path, const std::string& title) {
  const std::string why = why_not_regular_file(path);
  if (why.empty()) return;
  if (why == "does not exist") throw std::runtime_error(title + " file missing: '" + path + "'");
  throw std::runtime_error(title + " file '" + path + "' " + why);
}

bool path_occupied(const std::string& path) {
  struct stat own {};
  return ::lstat(path.c_str(), &own) == 0;
}

}  // namespace relnet
