// An MPI job's environment variables in tests. A test process that runs inside a job, or that
// called MPI_Init itself, carries OMPI_/PMIX_/OPAL_/ORTE_/PMI_ variables; a child mpirun or seqmend
// that inherits them believes it belongs to that job instead of starting a world of its own. Tests
// that start one drop them here; tests of code that reads launcher variables set them through
// ScopedEnv, which puts the old values back.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace seqmend::test_support {

inline constexpr const char* kMpiVariablePrefixes[] = {"OMPI_", "PMIX_", "OPAL_", "ORTE_", "PMI_"};

// ob1 and shared memory for a child's singleton MPI start-up (VAR=value words for a shell command):
// it takes half the time it does with UCX probing.
inline constexpr const char* kQuickSingletonMpi = "OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader";

// Names of this process's variables that an MPI launcher or MPI_Init set.
inline std::vector<std::string> mpi_variable_names() {
  std::vector<std::string> names;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    for (const char* p : kMpiVariablePrefixes)
      if (name.rfind(p, 0) == 0) names.push_back(name);
  }
  return names;
}

// In a forked child before exec: removes them from this process (names first: unsetenv changes
// environ under the loop).
inline void drop_mpi_variables() {
  for (const std::string& n : mpi_variable_names()) unsetenv(n.c_str());
}

// The start of a shell command that runs the rest without them: "env -u NAME ...".
inline std::string env_without_mpi() {
  std::string cmd = "env";
  for (const std::string& n : mpi_variable_names()) cmd += " -u " + n;
  return cmd;
}

// Sets and removes variables for the code under test; the destructor restores each one it touched.
class ScopedEnv {
 public:
  ScopedEnv() = default;
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value)
        setenv(name.c_str(), value->c_str(), 1);
      else
        unsetenv(name.c_str());
    }
  }

  void set(const std::string& name, const std::string& value) {
    save(name);
    setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    save(name);
    unsetenv(name.c_str());
  }

 private:
  void save(const std::string& name) {
    if (saved_.count(name)) return;
    const char* v = std::getenv(name.c_str());
    saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
  }

  std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace seqmend::test_support
