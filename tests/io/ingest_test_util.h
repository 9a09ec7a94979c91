// Helpers for the ingest tests: small files and the message of an error (scratch directories: tests/support/temp_dir.h).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/base/error.h"
#include "io/ingest_options.h"
#include "tests/support/temp_dir.h"

namespace seqmend::test {

inline std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  return path;
}

// The message of the seqmend::Error `fn` throws, or "" (and a test failure) when it does not throw.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a seqmend::Error";
  return "";
}

inline IngestOptions options_for(const std::string& format, const std::string& input) {
  IngestOptions o;
  o.format = format;
  o.input = input;
  o.fsync = false;
  return o;
}

}  // namespace seqmend::test
