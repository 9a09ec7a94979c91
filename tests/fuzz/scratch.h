// The one scratch path a fuzz target writes its inputs to (a file or a folder under the temporary
// directory, named for the process), removed when the fuzzer exits.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace seqmend::fuzz {

// Never destroyed: static destructors run before an atexit handler registered while the statics
// were being built, and the handler still needs the name.
// `stem` names it on the first call (e.g. "config_fuzz.yaml"); later calls return the same path.
inline const std::string& scratch_path(const std::string& stem) {
  static const std::string& path = *new std::string([&] {
    const std::string p =
        (std::filesystem::temp_directory_path() / ("seqmend_" + std::to_string(getpid()) + "_" + stem)).string();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_path(""), ec);
    });
    return p;
  }());
  return path;
}

}  // namespace seqmend::fuzz
