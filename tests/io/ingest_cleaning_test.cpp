// Cleaning steps on small hand-made tables whose right answers can be read off the input.
#include <gtest/gtest.h>

#include "io/cleaning.h"
#include "io/log_parsers.h"

namespace seqmend {
namespace {

EventTable table(const std::string& csv, const std::string& columns_rating = "-") {
  IngestOptions o;
  o.format = "csv";
  o.parse.columns.rating = columns_rating;
  ParseReport r;
  return parse_log_text(csv, "t.csv", o, r);
}

std::vector<int64_t> original_items(const EventTable& t) {
  std::vector<int64_t> out;
  for (int32_t i : t.item) out.push_back(t.items.numeric[size_t(i)]);
  return out;
}

TEST(IngestCleaning, SortByUserThenTimeKeepsFileOrderForTies) {
  EventTable t = table(
      "user_id,item_id,timestamp\n"
      "20,1,50\n"
      "10,2,30\n"
      "20,3,40\n"
      "10,4,30\n"  // tie with the row above: stays after it
      "10,5,10\n"
      "20,6,50\n");  // tie with the first row: stays after it
  sort_events(t);
  EXPECT_EQ(t.users.numeric, (std::vector<int64_t>{10, 20}));  // ascending original id
  EXPECT_EQ(t.user, (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(original_items(t), (std::vector<int64_t>{5, 2, 4, 3, 1, 6}));
  EXPECT_EQ(t.timestamp, (std::vector<int64_t>{10, 30, 30, 40, 50, 50}));
}

TEST(IngestCleaning, DedupeDropsOnlyExactRepeats) {
  EventTable t = table(
      "user_id,item_id,timestamp,rating\n"
      "1,7,100,5\n"
      "1,8,100,5\n"
      "1,7,100,5\n"   // exact repeat of the first row (not adjacent to it)
      "1,7,100,4\n"   // other rating: kept
      "1,7,101,5\n"   // other time: kept
      "2,7,100,5\n",  // other user: kept
      "rating");
  sort_events(t);
  auto d = drop_duplicates(t);
  EXPECT_EQ(d["removed"], 1);
  EXPECT_EQ(t.size(), 5);
  EXPECT_EQ(original_items(t), (std::vector<int64_t>{7, 8, 7, 7, 7}));
  EXPECT_EQ(t.rating, (std::vector<float>{5, 5, 4, 5, 5}));
}

TEST(IngestCleaning, RatingModes) {
  const char* csv = "user_id,item_id,timestamp,rating\n1,1,1,5\n1,2,2,3.4\n1,3,3,4\n1,4,4,0\n";
  EventTable a = table(csv, "rating");
  auto ra = apply_ratings(a, "threshold", 4.0);
  EXPECT_EQ(ra["removed"], 2);
  EXPECT_EQ(original_items(a), (std::vector<int64_t>{1, 3}));
  EXPECT_FALSE(a.has_ratings());

  EventTable b = table(csv, "rating");
  auto rb = apply_ratings(b, "action", 0);
  EXPECT_EQ(b.action, (std::vector<int8_t>{15, 13, 14, 11}));  // 10 + r, 0 clamped to 1
  EXPECT_EQ(rb["clamped"], 1);

  EventTable c = table(csv, "rating");
  apply_ratings(c, "ignore", 0);
  EXPECT_EQ(c.size(), 4);
  EXPECT_FALSE(c.has_actions());
  EXPECT_FALSE(c.has_ratings());
}

TEST(IngestCleaning, KCoreIteratesToAFixedPoint) {
  // k = 2. Item 9 has one event → removed; that leaves user 3 with one event → removed; that leaves
  // item 8 with one event → removed; users 1 and 2 with items 5 and 6 survive.
  EventTable t = table(
      "user_id,item_id,timestamp\n"
      "1,5,1\n1,6,2\n2,5,3\n2,6,4\n"
      "3,8,5\n3,9,6\n"
      "4,8,7\n4,5,8\n");
  auto r = k_core(t, 2, 2);
  EXPECT_EQ(original_items(t), (std::vector<int64_t>{5, 6, 5, 6}));
  EXPECT_EQ(r["removed"], 4);
  // Passes: (3,9) as item 9 is rare; (3,8) as user 3 is short; (4,8) as item 8 is rare; (4,5) as
  // user 4 is short; a fifth pass changes nothing.
  EXPECT_EQ(r["iterations"], 5);
  for (int32_t u : t.user) EXPECT_LT(t.users.numeric[size_t(u)], 3);
}

TEST(IngestCleaning, LengthsDropShortAndKeepMostRecent) {
  EventTable t = table("user_id,item_id,timestamp\n1,1,1\n1,2,2\n1,3,3\n1,4,4\n2,5,1\n3,6,1\n3,7,2\n");
  sort_events(t);
  auto r = clip_lengths(t, 2, 3);
  EXPECT_EQ(original_items(t), (std::vector<int64_t>{2, 3, 4, 6, 7}));
  EXPECT_EQ(r["users_dropped_short"], 1);
  EXPECT_EQ(r["events_truncated"], 1);
}

TEST(IngestCleaning, BuildSequencesNumbersItemsFromOne) {
  EventTable t = table("user_id,item_id,timestamp\n2,30,1\n2,10,2\n1,10,1\n1,20,2\n2,10,3\n");
  sort_events(t);
  BuiltSequences first = build_sequences(t, "first_appearance");
  // Sorted: user 1: 10, 20; user 2: 30, 10, 10.
  EXPECT_EQ(first.item_ids, (std::vector<std::string>{"10", "20", "30"}));
  EXPECT_EQ(first.sequences.item, (std::vector<int32_t>{1, 2, 3, 1, 1}));
  EXPECT_EQ(first.sequences.offsets, (std::vector<int64_t>{0, 2, 5}));
  EXPECT_EQ(first.user_ids, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(first.item_counts, (std::vector<int64_t>{3, 1, 1}));
  BuiltSequences freq = build_sequences(t, "frequency");
  EXPECT_EQ(freq.item_ids, (std::vector<std::string>{"10", "20", "30"}));  // 10 most frequent; 20 before 30 by appearance
  EXPECT_NO_THROW(first.sequences.validate(3));
  EventTable u = table("user_id,item_id,timestamp\n1,30,1\n1,10,2\n1,10,3\n");
  sort_events(u);
  EXPECT_EQ(build_sequences(u, "frequency").item_ids, (std::vector<std::string>{"10", "30"}));
  EXPECT_EQ(build_sequences(u, "first_appearance").item_ids, (std::vector<std::string>{"30", "10"}));
}

}  // namespace
}  // namespace seqmend
