// Errors with context. Every failure a user can cause (bad input, bad config, a damaged file, a bad
// shape handed to an op) is a seqmend::Error whose message says where and what; internal invariants
// use the same macro so a broken assumption is reported, not silently continued.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace seqmend {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Concatenate anything streamable: str("row ", 12, ": bad id ", s).
template <typename... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

}  // namespace seqmend

// SEQ_CHECK(cond, "op_name: ", details...) throws seqmend::Error("file:line: op_name: details").
#define SEQ_CHECK(cond, ...)                                                                      \
  do {                                                                                            \
    if (!(cond)) [[unlikely]]                                                                     \
      throw ::seqmend::Error(::seqmend::str(__FILE__, ":", __LINE__, ": ", __VA_ARGS__));         \
  } while (0)

#define SEQ_FAIL(...) throw ::seqmend::Error(::seqmend::str(__VA_ARGS__))
