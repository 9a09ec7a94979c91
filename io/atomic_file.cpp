#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/base/error.h"
#include "io/fault_injection.h"

namespace seqmend {
namespace {

std::string parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

// Unique per process and call, so concurrent writers of one target (two ranks, two threads) never
// share a temporary file; the leading dot keeps it out of globs like *.yaml.
std::string temp_name(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path p(path);
  std::string name = "." + p.filename().string() + ".tmp." + std::to_string(::getpid()) + "." +
                     std::to_string(counter.fetch_add(1));
  return (p.parent_path() / name).string();
}

void fsync_path(const std::string& path, int flags, const char* what) {
  if (fault_point(FaultOp::fsync, path)) SEQ_FAIL(what, ": ", fault_message(FaultOp::fsync, path));
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) SEQ_FAIL(what, ": cannot open ", path, ": ", std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems (e.g. certain network mounts) refuse fsync on directories: nothing to gain there.
  if (rc != 0 && !(err == EINVAL && (flags & O_DIRECTORY)))
    SEQ_FAIL(what, ": fsync ", path, ": ", std::strerror(err));
}

// A full or read-only file system is what a user must act on: it comes first in the message.
[[noreturn]] void fail_writing(const char* call, const std::string& temp, const std::string& path, int err) {
  if (is_out_of_room(err)) SEQ_FAIL(failure_cause(err), " writing ", path, " (write_file_atomic: ", call, " ", temp, ")");
  SEQ_FAIL("write_file_atomic: ", call, " ", temp, " (for ", path, "): ", std::strerror(err));
}

}  // namespace

std::string failure_cause(int err) {
  std::string cause = std::strerror(err);
  if (!cause.empty()) cause[0] = char(std::tolower(static_cast<unsigned char>(cause[0])));
  return cause;
}

bool is_out_of_room(int err) { return err == ENOSPC || err == EDQUOT || err == EFBIG || err == EROFS; }

void fsync_directory(const std::string& dir) { fsync_path(dir, O_RDONLY | O_DIRECTORY, "fsync_directory"); }

void write_file_atomic(const std::string& path, std::string_view data) {
  SEQ_CHECK(!path.empty(), "write_file_atomic: empty path");
  const std::string temp = temp_name(path);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail_writing("cannot create", temp, path, errno);
  auto fail = [&](const char* call, FaultOp op, bool injected) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    if (injected) SEQ_FAIL("write_file_atomic: ", fault_message(op, path));
    fail_writing(call, temp, path, err);
  };
  const char* p = data.data();
  size_t left = data.size();
  if (fault_point(FaultOp::write, path)) fail("write", FaultOp::write, true);
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", FaultOp::write, false);
    }
    p += n;
    left -= size_t(n);
  }
  if (fault_point(FaultOp::fsync, path)) fail("fsync", FaultOp::fsync, true);
  if (::fsync(fd) != 0) fail("fsync", FaultOp::fsync, false);
  if (fault_point(FaultOp::close, path)) fail("close", FaultOp::close, true);
  if (::close(fd) != 0) {
    fd = -1;
    fail("close", FaultOp::close, false);
  }
  fd = -1;
  if (fault_point(FaultOp::rename, path)) fail("rename", FaultOp::rename, true);
  if (::rename(temp.c_str(), path.c_str()) != 0) fail("rename", FaultOp::rename, false);
  fsync_directory(parent_dir(path));
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  SEQ_CHECK(!path_.empty(), "AtomicFile: empty path");
  temp_ = temp_name(path_);
}

AtomicFile::~AtomicFile() {
  if (!committed_) ::unlink(temp_.c_str());  // may not exist: the writer failed before creating it
}

void AtomicFile::commit() {
  SEQ_CHECK(!committed_, "AtomicFile::commit: ", path_, " already committed");
  fsync_path(temp_, O_RDONLY, "AtomicFile::commit");
  if (fault_point(FaultOp::rename, path_)) SEQ_FAIL("AtomicFile::commit: ", fault_message(FaultOp::rename, path_));
  if (::rename(temp_.c_str(), path_.c_str()) != 0)
    SEQ_FAIL("AtomicFile::commit: rename ", temp_, " -> ", path_, ": ", std::strerror(errno));
  committed_ = true;
  fsync_directory(parent_dir(path_));
}

}  // namespace seqmend
