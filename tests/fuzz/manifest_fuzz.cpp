// libFuzzer target: a shard set's manifest.json. A real two-split shard set is written once; each
// input replaces its manifest, and the set is opened and every split read. A damaged or hostile
// manifest may only be rejected with seqmend::Error, before anything is sized by its counts.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/base/error.h"
#include "io/shard_set.h"
#include "tests/fuzz/scratch.h"

namespace {

const std::string& set_dir() {
  using namespace seqmend;
  static const std::string& dir = [] () -> const std::string& {
    const std::string& d = fuzz::scratch_path("manifest_fuzz");
    std::filesystem::remove_all(d);
    SequenceSet s;
    const int32_t items[] = {1, 2, 3, 2, 4, 1, 3};
    s.append(0, items, 3);
    s.append(1, items + 3, 4);
    ManifestInfo info;
    info.num_items = 4;
    ShardOptions o;
    o.fsync = false;
    write_shard_set(d, info, {{"train", s}, {"test", s}}, o);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace seqmend;
  const std::string& dir = set_dir();
  std::ofstream(dir + "/manifest.json", std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), std::streamsize(size));
  try {
    ShardSet set = ShardSet::open(dir);
    for (const std::string& split : set.split_names()) (void)load_split(set, split);
  } catch (const Error&) {
  }
  return 0;
}
