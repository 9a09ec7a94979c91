// Runs a shell command for the CLI tests: stdout and stderr folded together, the exit status
// (-1 when the command did not exit normally) and the wall time.
#pragma once

#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>

namespace seqmend::test_support {

struct Ran {
  int status = -1;
  std::string output;
  double seconds = 0.0;
};

inline Ran run_shell(const std::string& cmd) {
  Ran r;
  const auto t0 = std::chrono::steady_clock::now();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace seqmend::test_support
