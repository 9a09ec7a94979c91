// libFuzzer target: the YAML config reader with command-line overrides. The input is a YAML file,
// then, after a line "--", one override per line. Every rejection must be a seqmend::Error (key
// path and file:line:col); yaml-cpp's and the JSON library's exceptions must never escape.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "io/config.h"
#include "io/ingest_options.h"
#include "tests/fuzz/scratch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace seqmend;
  const std::string& file = fuzz::scratch_path("config_fuzz.yaml");
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t cut = text.find("\n--\n");
  std::vector<std::string> overrides;
  if (cut != std::string::npos) {
    size_t at = cut + 4;
    while (at <= text.size()) {
      const size_t end = std::min(text.find('\n', at), text.size());
      overrides.push_back(text.substr(at, end - at));
      at = end + 1;
    }
  }
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text.substr(0, cut);
  try {
    IngestOptions o = load_config<IngestOptions>(file, overrides);
    (void)config_to_yaml(o);  // what was accepted can be written back
  } catch (const Error&) {
  }
  return 0;
}
