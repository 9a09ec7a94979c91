// Random and half-broken logs through the whole in-memory pipeline: every outcome must be either a
// seqmend::Error or sequences that pass SequenceSet::validate and splits that are prefixes of them.
// Under the sanitizer build this is also the memory-safety check of the hand-written parser.
#include <gtest/gtest.h>

#include <random>

#include "core/base/error.h"
#include "io/cleaning.h"
#include "io/log_parsers.h"
#include "io/splits.h"

namespace seqmend {
namespace {

std::string random_log(std::mt19937& rng) {
  static const char alphabet[] = "0123456789,\t:;\n\r -.+eEZT\"abpvuy";
  std::string text;
  if (rng() % 2) text = "user_id:token\titem_id:token\ttimestamp:float\n";
  const int n = int(rng() % 200);
  if (rng() % 2) {
    for (int i = 0; i < n; ++i) text += alphabet[rng() % (sizeof alphabet - 1)];
    return text;
  }
  const char* seps[] = {"\t", ",", "::", " "};
  const char* sep = seps[rng() % 4];
  for (int i = 0; i < n / 4; ++i) {
    text += std::to_string(rng() % 5) + sep + std::to_string(rng() % 7) + sep + std::to_string(rng() % 6) + sep +
            std::to_string(rng() % 9) + sep + (rng() % 2 ? "pv" : "3") + "\n";
    if (rng() % 50 == 0) text += alphabet[rng() % (sizeof alphabet - 1)];
  }
  return text;
}

TEST(IngestFuzz, EveryOutcomeIsAnErrorOrValidSequences) {
  std::mt19937 rng(7);
  const char* formats[] = {"movielens", "recbole", "taobao", "seqline", "csv"};
  int built = 0;
  for (int it = 0; it < 3000; ++it) {
    std::string text = random_log(rng);
    IngestOptions o;
    o.format = formats[rng() % 5];
    o.parse.max_malformed_fraction = 1.0;
    o.parse.string_ids = rng() % 2;
    o.parse.user_first = rng() % 2;
    o.parse.header = rng() % 2;
    if (rng() % 3 == 0) o.parse.timestamp_unit = "iso8601";
    if (rng() % 3 == 0) o.parse.columns = {"0", "1", "2", "-", "-"};
    try {
      ParseReport r;
      EventTable t = parse_log_text(text, "fuzz.txt", o, r);
      ASSERT_EQ(r.events, t.size());
      sort_events(t);
      drop_duplicates(t);
      apply_ratings(t, "action", 0);
      k_core(t, 2, 1);
      clip_lengths(t, 1, 3);
      if (t.size() == 0) continue;
      BuiltSequences b = build_sequences(t, rng() % 2 ? "frequency" : "first_appearance");
      ASSERT_NO_THROW(b.sequences.validate(int64_t(b.item_ids.size())));
      IngestSplitOptions so;
      so.method = rng() % 2 && b.sequences.has_timestamps() ? "temporal" : "leave_one_out";
      SplitSets s = make_splits(b.sequences, so);
      for (const SequenceSet* part : {&s.train, &s.valid, &s.test})
        ASSERT_NO_THROW(part->validate(int64_t(b.item_ids.size())));
      ++built;
    } catch (const Error&) {
      // An explained refusal is a valid outcome for garbage.
    }
  }
  EXPECT_GT(built, 100);  // the generator must reach the end of the pipeline often enough to matter
}

}  // namespace
}  // namespace seqmend
