// libFuzzer target: the shard reader's checks on what a shard file holds. The input is turned into
// raw columns (offsets, items, users, labels) and a manifest identity, written as a shard file
// without any validation, and read back: the reader must reject what is inconsistent with
// seqmend::Error and return only sets that validate; the offsets-only read (the lengths pass) must
// accept every shard the full read accepts, with the same offsets, and only valid CSR offsets.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "io/shard_file.h"
#include "io/shard_set.h"
#include "tests/fuzz/scratch.h"

namespace {

struct Bytes {
  const uint8_t* p;
  size_t n;
  template <typename T>
  T take() {
    T v{};
    const size_t k = std::min(sizeof(T), n);
    std::memcpy(&v, p, k);
    p += k;
    n -= k;
    return v;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace seqmend;
  const std::string& file = fuzz::scratch_path("shard_fuzz.h5");
  Bytes b{data, size};
  const uint8_t shape = b.take<uint8_t>();
  const size_t n = b.take<uint8_t>() % 16, e = b.take<uint8_t>() % 64;
  SequenceSet s;
  s.offsets.assign(n + 1, 0);
  for (auto& o : s.offsets) o = int64_t(b.take<int8_t>()) + (shape & 1 ? int64_t(e / 2) : 0);
  s.item.resize(e);
  for (auto& it : s.item) it = b.take<int8_t>();
  s.user.resize(n);
  for (auto& u : s.user) u = b.take<int8_t>();
  ShardIdentity id;
  id.split = "train";
  id.sequences = int64_t(n) + (shape & 2 ? 1 : 0);
  id.events = int64_t(e) - (shape & 4 ? 1 : 0);
  id.num_items = 1 + b.take<uint8_t>() % 32;
  id.num_users = shape & 8 ? 8 : 0;
  id.columns.label = (shape & 16) != 0;
  if (id.columns.label) {
    s.label.resize(e);
    for (auto& l : s.label) l = b.take<int8_t>();
  }
  ShardOptions o;
  o.fsync = false;
  try {
    write_shard_file(file, s, id, o);
  } catch (const Error&) {
    return 0;
  }
  std::vector<int64_t> offsets;  // the lengths pass: accepted offsets are a valid CSR index
  try {
    offsets = read_shard_offsets(file, id);
    if (int64_t(offsets.size()) != id.sequences + 1 || offsets.front() != 0 || offsets.back() != id.events)
      std::abort();
    for (size_t i = 1; i < offsets.size(); ++i)
      if (offsets[i] < offsets[i - 1]) std::abort();
  } catch (const Error&) {
    offsets.clear();
  }
  try {
    const SequenceSet back = read_shard_file(file, id);
    back.validate(id.num_items);  // accepted means consistent
    if (back.num_sequences() != id.sequences || back.num_events() != id.events) std::abort();
    if (back.offsets != offsets) std::abort();  // a whole shard's offsets pass the lengths pass too
  } catch (const Error&) {
  }
  return 0;
}
