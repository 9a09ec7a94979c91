// libFuzzer target: the log parsers (csv, seqline, movielens, recbole, taobao) on arbitrary text.
// The first byte picks the format and options; the rest is the file. A parser may reject the text
// only with seqmend::Error; what it accepts must be a consistent event table.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/base/error.h"
#include "io/ingest_options.h"
#include "io/log_parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace seqmend;
  if (size < 1) return 0;
  static const char* const kFormats[] = {"csv", "seqline", "movielens", "recbole", "taobao"};
  IngestOptions o;
  o.format = kFormats[data[0] % 5];
  o.parse.string_ids = (data[0] & 8) != 0;
  o.parse.strict = (data[0] & 16) != 0;
  if (data[0] & 32) o.parse.header = false;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  ParseReport report;
  try {
    const EventTable t = parse_log_text(text, "fuzz.txt", o, report);
    const size_t n = t.user.size();
    if (t.item.size() != n || (!t.timestamp.empty() && t.timestamp.size() != n) ||
        (!t.action.empty() && t.action.size() != n) || (!t.rating.empty() && t.rating.size() != n))
      std::abort();
    for (size_t e = 0; e < n; ++e)
      if (t.user[e] < 0 || t.user[e] >= t.users.size() || t.item[e] < 0 || t.item[e] >= t.items.size())
        std::abort();
  } catch (const Error&) {
  }
  return 0;
}
