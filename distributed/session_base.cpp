#include "distributed/session_base.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

namespace seqmend {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBaseVariable = "OMPI_MCA_orte_tmpdir_base";

// Process-wide, as the pid it is named for.
std::string g_base;
std::optional<std::string> g_user_value;  // the variable before the claim (nullopt: unset)

// A pid whose process is gone (kill(pid, 0) says ESRCH). A pid reused since then looks alive, and
// its directory waits for a later start: harmless, it is only left a while longer. (A process in
// another pid namespace sharing this directory would look gone: such setups set TMPDIR apart.)
bool gone(const std::string& name) {
  if (name.empty() || name.size() > 9 || name.find_first_not_of("0123456789") != std::string::npos) return false;
  const pid_t pid = pid_t(std::stol(name));
  return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace

std::string session_root() {
  std::string parent = env_or_empty(kBaseVariable);
  if (parent.empty()) parent = env_or_empty("TMPDIR");
  if (parent.empty()) parent = "/tmp";
  return parent + "/seqmend-mpi." + std::to_string(::getuid());
}

std::string claim_session_base() {
  if (!g_base.empty()) return g_base;
  const std::string root = session_root();
  // Owner-only, like Open MPI's own session directories; an existing root is left as it is.
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) return "";
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (gone(it->path().filename().string())) fs::remove_all(it->path(), ec);
  const std::string base = root + "/" + std::to_string(::getpid());
  fs::remove_all(base, ec);  // left by an earlier process of this pid
  if (::mkdir(base.c_str(), 0700) != 0) return "";
  if (const char* v = std::getenv(kBaseVariable)) g_user_value = v;
  ::setenv(kBaseVariable, base.c_str(), 1);
  g_base = base;
  return g_base;
}

void restore_session_variable() {
  if (g_base.empty()) return;
  if (g_user_value) ::setenv(kBaseVariable, g_user_value->c_str(), 1); else ::unsetenv(kBaseVariable);
}

const std::string& session_base() { return g_base; }

void release_session_base() {
  if (g_base.empty()) return;
  std::error_code ec;
  fs::remove_all(g_base, ec);
  g_base.clear();
  g_user_value.reset();
}

}  // namespace seqmend
