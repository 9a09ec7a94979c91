// Child processes for the tests that stop, kill and resume the built binary: started with their
// output in a log file, waited for with a deadline, and polled for a file to appear.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/mpi_env.h"

namespace seqmend::test_support {

struct Child {
  pid_t pid = -1;
};

// Starts argv (argv[0] looked up on PATH) with stdout and stderr appended to `log`. MPI variables
// of an enclosing job are dropped so that a nested mpirun starts a world of its own.
inline Child spawn(const std::vector<std::string>& argv, const std::string& log) {
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    drop_mpi_variables();
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return c;
}

// argv under a 2-rank mpirun.
inline std::vector<std::string> mpirun2(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"mpirun", "-np", "2", "--oversubscribe", "--allow-run-as-root"});
  return argv;
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Exit code, or 128 + signal; -1 on timeout (the child is then killed).
inline int wait_for(const Child& c, double seconds = 120) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (waitpid(c.pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      kill(c.pid, SIGKILL);
      waitpid(c.pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Polls (every millisecond) until `ready` holds or the child exits; true when `ready` held.
inline bool poll_until(const Child& c, const std::function<bool()>& ready, double seconds = 90) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    if (ready()) return true;
    int status;
    if (waitpid(c.pid, &status, WNOHANG) != 0) return ready();  // gone (reaped: do not wait again)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace seqmend::test_support
