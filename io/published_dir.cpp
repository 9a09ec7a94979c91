#include "io/published_dir.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/base/error.h"
#include "io/atomic_file.h"
#include "io/fault_injection.h"

namespace seqmend {

namespace fs = std::filesystem;

namespace {

std::string unique_suffix() {
  static std::atomic<unsigned> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

// Every file and directory under `root`, then `root`: the tree is durable before it is renamed.
void fsync_tree(const fs::path& root) {
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (fault_point(FaultOp::fsync, e.path().string()))
      SEQ_FAIL("publish: ", fault_message(FaultOp::fsync, e.path().string()));
    const int flags = e.is_directory() ? O_RDONLY | O_DIRECTORY : O_RDONLY;
    int fd = ::open(e.path().c_str(), flags | O_CLOEXEC);
    SEQ_CHECK(fd >= 0, "publish: cannot open ", e.path().string(), ": ", std::strerror(errno));
    const int rc = ::fsync(fd), err = errno;
    ::close(fd);
    SEQ_CHECK(rc == 0 || (err == EINVAL && e.is_directory()), "publish: fsync ", e.path().string(), ": ",
              std::strerror(err));
  }
  fsync_directory(root.string());
}

std::string read_small(const std::string& path) {
  std::string s;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return s;
  char buf[64];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n > 0) s.assign(buf, size_t(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

PublishedDir::PublishedDir(std::string dir, PublishOptions options) : options_(std::move(options)) {
  const std::string& what = options_.what;
  SEQ_CHECK(!dir.empty(), what, ": no output directory given");
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "out/" names "out"
  SEQ_CHECK(!p.filename().empty() && p.filename() != "." && p.filename() != "..", what, ": output directory '", dir,
            "' has no name of its own");
  dir_ = p.string();
  const fs::path parent = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  const std::string name = p.filename().string();
  std::error_code ec;
  fs::create_directories(parent, ec);
  SEQ_CHECK(!ec, what, ": cannot create '", parent.string(), "': ", ec.message());

  lock_path_ = (parent / ("." + name + ".lock")).string();
  lock_fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  SEQ_CHECK(lock_fd_ >= 0, what, ": cannot open lock file '", lock_path_, "': ", std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (err == EWOULDBLOCK) {
      // The holder writes its pid just after it takes the lock: give it a moment to.
      std::string pid = read_small(lock_path_);
      for (int i = 0; i < 20 && pid.empty(); ++i) {
        ::usleep(5000);
        pid = read_small(lock_path_);
      }
      SEQ_FAIL(what, ": '", dir_, "' is being written by ", pid.empty() ? std::string("another process") : "pid " + pid,
               " (lock '", lock_path_, "')");
    }
    SEQ_FAIL(what, ": cannot lock '", lock_path_, "': ", std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
    // The pid only improves the other writer's message; the lock is what matters.
  }

  try {
    // The lock is ours: whatever an earlier writer of this directory left is stale.
    const std::string tmp_prefix = "." + name + ".tmp-", old_prefix = "." + name + ".old-";
    for (const auto& e : fs::directory_iterator(parent, ec)) {
      const std::string f = e.path().filename().string();
      if (f.rfind(old_prefix, 0) == 0 && !fs::exists(p, ec)) {
        fs::rename(e.path(), p, ec);
        SEQ_CHECK(!ec, what, ": cannot restore the earlier output '", e.path().string(), "' to '", dir_, "': ",
                  ec.message());
        std::fprintf(stderr, "%s: restored '%s' from '%s', left aside by a writer that did not finish\n", what.c_str(),
                     dir_.c_str(), e.path().c_str());
      } else if (f.rfind(tmp_prefix, 0) == 0 || f.rfind(old_prefix, 0) == 0) {
        fs::remove_all(e.path(), ec);
        std::fprintf(stderr, "%s: removed '%s', left by a writer of '%s' that did not finish\n", what.c_str(),
                     e.path().c_str(), dir_.c_str());
      }
    }
    if (fs::exists(p, ec)) {
      SEQ_CHECK(fs::is_directory(p, ec), what, ": output '", dir_, "' exists and is not a directory");
      SEQ_CHECK(options_.overwrite || fs::is_empty(p, ec), what, ": output directory '", dir_,
                "' is not empty. HINT: ", options_.hint);
    }
    temp_ = (parent / (tmp_prefix + unique_suffix())).string();
    fs::create_directory(temp_, ec);
    SEQ_CHECK(!ec, what, ": cannot create '", temp_, "': ", ec.message());
  } catch (...) {
    ::close(lock_fd_);  // the destructor does not run for a constructor that throws
    throw;
  }
}

PublishedDir::~PublishedDir() {
  std::error_code ec;
  if (!committed_ && !temp_.empty()) fs::remove_all(temp_, ec);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

void PublishedDir::commit() {
  const std::string& what = options_.what;
  SEQ_CHECK(!committed_, what, ": '", dir_, "' was already published");
  if (options_.fsync) fsync_tree(temp_);
  const std::string parent = fs::path(dir_).parent_path().empty() ? "." : fs::path(dir_).parent_path().string();
  std::error_code ec;
  if (fault_point(FaultOp::rename, dir_)) SEQ_FAIL(what, ": ", fault_message(FaultOp::rename, dir_));
  if (!fs::exists(dir_, ec)) {
    SEQ_CHECK(::rename(temp_.c_str(), dir_.c_str()) == 0, what, ": cannot rename '", temp_, "' to '", dir_, "': ",
              std::strerror(errno));
  } else if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, dir_.c_str(), RENAME_EXCHANGE) == 0) {
    committed_ = true;  // temp_ now holds the old tree: the destructor must not treat it as ours
    if (options_.fsync) fsync_directory(parent);
    fs::remove_all(temp_, ec);
    return;
  } else {
    SEQ_CHECK(errno == EINVAL || errno == ENOSYS, what, ": cannot exchange '", temp_, "' with '", dir_, "': ",
              std::strerror(errno));
    const std::string old = (fs::path(parent) / ("." + fs::path(dir_).filename().string() + ".old-" + unique_suffix())).string();
    SEQ_CHECK(::rename(dir_.c_str(), old.c_str()) == 0, what, ": cannot move '", dir_, "' aside: ", std::strerror(errno));
    if (::rename(temp_.c_str(), dir_.c_str()) != 0) {
      const int err = errno;
      ::rename(old.c_str(), dir_.c_str());
      SEQ_FAIL(what, ": cannot rename '", temp_, "' to '", dir_, "': ", std::strerror(err));
    }
    committed_ = true;
    if (options_.fsync) fsync_directory(parent);
    fs::remove_all(old, ec);
    return;
  }
  committed_ = true;
  if (options_.fsync) fsync_directory(parent);
}

}  // namespace seqmend
