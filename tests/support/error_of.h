// The message of the seqmend::Error a call throws, for tests that check what an error says.
#pragma once

#include <functional>
#include <string>

#include "core/base/error.h"

namespace seqmend::test {

// e.what() of the Error `f` throws; "no error" when it returns.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace seqmend::test
