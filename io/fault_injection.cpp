#include "io/fault_injection.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace seqmend {

namespace {

struct Plan {
  int64_t fail_at = 0;  // 0: unarmed
  bool crash = false;
};

Plan read_plan() {
  Plan p;
  const char* v = std::getenv("SEQMEND_FAULT");
  if (!v || !*v) return p;
  char* end = nullptr;
  p.fail_at = std::strtoll(v, &end, 10);
  p.crash = end && std::strcmp(end, ":crash") == 0;
  if (p.fail_at < 1 || !end || (*end && !p.crash)) {
    std::fprintf(stderr, "seqmend: SEQMEND_FAULT='%s' is not K or K:crash (K >= 1); fault injection is off\n", v);
    p.fail_at = 0;
  }
  return p;
}

const Plan& plan() {
  static const Plan p = read_plan();
  return p;
}

std::atomic<int64_t> passed{0};

const char* op_name(FaultOp op) {
  switch (op) {
    case FaultOp::write: return "write";
    case FaultOp::fsync: return "fsync";
    case FaultOp::rename: return "rename";
    case FaultOp::close: return "close";
  }
  return "?";
}

}  // namespace

bool fault_point(FaultOp op, const std::string& path) {
  const Plan& p = plan();
  if (p.fail_at == 0) return false;
  const int64_t k = passed.fetch_add(1) + 1;
  if (k != p.fail_at) return false;
  if (p.crash) {
    std::fprintf(stderr, "seqmend: injected crash at %s of %s (fault point %lld)\n", op_name(op), path.c_str(),
                 (long long)k);
    std::fflush(nullptr);
    _exit(kFaultCrashExit);
  }
  errno = EIO;
  return true;
}

std::string fault_message(FaultOp op, const std::string& path) {
  return std::string("injected fault: ") + op_name(op) + " of " + path + " (fault point " +
         std::to_string(plan().fail_at) + ")";
}

}  // namespace seqmend
