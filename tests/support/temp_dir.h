// A test's scratch directory: made fresh under the system's temp directory with a unique name (so
// tests run side by side by ctest -j never share one, whatever their pids), removed with all it
// holds when the object goes out of scope, passed or failed. SEQMEND_KEEP_TEST_DIRS=1 keeps it and
// prints where, for a look at what a failing test left behind.
//
//   TempDir dir("seqmend_repair");
//   write_log(dir / "log.tsv");          // "<dir>/log.tsv" as a string
//   fs::path p = dir.path() / "a" / "b"; // the directory itself
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace seqmend::test {

class TempDir {
 public:
  explicit TempDir(const std::string& stem = "seqmend_test") {
    std::error_code ec;
    const std::filesystem::path parent = std::filesystem::temp_directory_path(ec);
    if (ec) {
      const char* env = std::getenv("TMPDIR");
      throw std::runtime_error("no temporary directory (TMPDIR=" + std::string(env ? env : "") + "): " + ec.message());
    }
    std::string tmpl = (parent / (stem + "_XXXXXX")).string();
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("cannot make a temporary directory from " + tmpl + ": " + std::strerror(errno));
    path_ = tmpl;
  }
  ~TempDir() {
    const char* keep = std::getenv("SEQMEND_KEEP_TEST_DIRS");
    if (keep != nullptr && std::string(keep) == "1") {
      std::cerr << "kept test directory " << path_.string() << "\n";
      return;
    }
    std::error_code ec;  // a destructor must not throw; a leftover directory is harmless
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace seqmend::test
