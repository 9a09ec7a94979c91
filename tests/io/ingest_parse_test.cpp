// The log readers: every format's column layout, separators, id interning, time units, action
// mapping, and how malformed rows are counted or refused.
#include <gtest/gtest.h>

#include "io/log_parsers.h"
#include "io/sequence_set.h"
#include "tests/io/ingest_test_util.h"

namespace seqmend {
namespace {

using test::error_of;
using test::options_for;

EventTable parse(const std::string& format, const std::string& text, ParseReport* report = nullptr,
                 IngestOptions opts = {}) {
  opts.format = format;
  ParseReport local;
  return parse_log_text(text, "log.txt", opts, report ? *report : local);
}

TEST(IngestParse, MovieLensTabAndDoubleColonAgree) {
  EventTable a = parse("movielens", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n");
  EventTable b = parse("movielens", "196::242::3::881250949\n186::302::3::891717742\n196::377::1::878887116\n");
  for (const EventTable* t : {&a, &b}) {
    ASSERT_EQ(t->size(), 3);
    EXPECT_EQ(t->user, (std::vector<int32_t>{0, 1, 0}));  // dense by first appearance
    EXPECT_EQ(t->users.numeric, (std::vector<int64_t>{196, 186}));
    EXPECT_EQ(t->items.numeric, (std::vector<int64_t>{242, 302, 377}));
    EXPECT_EQ(t->timestamp, (std::vector<int64_t>{881250949, 891717742, 878887116}));
    EXPECT_EQ(t->rating, (std::vector<float>{3, 3, 1}));
    EXPECT_FALSE(t->has_actions());
  }
}

TEST(IngestParse, RecBoleFindsColumnsByNameInAnyOrder) {
  ParseReport r;
  EventTable t = parse("recbole",
                       "timestamp:float\trating:float\titem_id:token\tuser_id:token\r\n"
                       "881250949.0\t3\t242\t196\r\n"
                       "891717742\t4.5\t302\t186\r\n",
                       &r);
  ASSERT_EQ(t.size(), 2);
  EXPECT_EQ(t.users.numeric, (std::vector<int64_t>{196, 186}));
  EXPECT_EQ(t.items.numeric, (std::vector<int64_t>{242, 302}));
  EXPECT_EQ(t.timestamp, (std::vector<int64_t>{881250949, 891717742}));
  EXPECT_EQ(t.rating, (std::vector<float>{3.0f, 4.5f}));
  EXPECT_EQ(r.lines, 3);
  EXPECT_EQ(r.data_lines, 2);
}

TEST(IngestParse, ByteOrderMarkBeforeTheHeaderIsIgnored) {
  EventTable t = parse("csv", "\xEF\xBB\xBFuser_id,item_id,timestamp\n4,5,6\n");
  ASSERT_EQ(t.size(), 1);
  EXPECT_EQ(t.users.numeric[0], 4);
}

TEST(IngestParse, TaobaoBehaviourNamesBecomeActions) {
  EventTable t = parse("taobao",
                       "1,2268318,2520377,pv,1511544070\n"
                       "1,2333346,2520771,cart,1511561733\n"
                       "2,2576651,149192,buy,1511572885\n"
                       "2,3830808,4181361,fav,1511593493\n");
  ASSERT_EQ(t.size(), 4);
  EXPECT_EQ(t.action, (std::vector<int8_t>{kActionView, kActionCart, kActionBuy, kActionFavorite}));
  EXPECT_EQ(t.items.numeric[3], 3830808);
  EXPECT_EQ(t.timestamp[2], 1511572885);
  EXPECT_FALSE(t.has_ratings());
}

TEST(IngestParse, SeqlineWithAndWithoutUserColumn) {
  EventTable a = parse("seqline", "5 6 7\n\n7  8\n");
  EXPECT_EQ(a.users.numeric, (std::vector<int64_t>{1, 2}));  // data line numbers
  EXPECT_EQ(a.user, (std::vector<int32_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(a.items.numeric, (std::vector<int64_t>{5, 6, 7, 8}));
  EXPECT_EQ(a.item, (std::vector<int32_t>{0, 1, 2, 2, 3}));
  EXPECT_FALSE(a.has_timestamps());

  IngestOptions o;
  o.parse.user_first = true;
  o.parse.string_ids = true;
  EventTable b = parse("seqline", "u9\t5\t6\nu3\t6\n", nullptr, o);
  EXPECT_EQ(b.users.tokens, (std::vector<std::string>{"u9", "u3"}));
  EXPECT_EQ(b.items.tokens, (std::vector<std::string>{"5", "6"}));
  EXPECT_EQ(b.user, (std::vector<int32_t>{0, 0, 1}));

  IngestOptions tokens_only;  // token items, no user column: users are still line numbers
  tokens_only.parse.string_ids = true;
  EventTable c = parse("seqline", "x y\nz\n", nullptr, tokens_only);
  EXPECT_FALSE(c.users.is_token);
  EXPECT_EQ(c.users.numeric, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(c.users.size(), 2);
  EXPECT_EQ(c.items.tokens, (std::vector<std::string>{"x", "y", "z"}));
}

TEST(IngestParse, CsvColumnsByNameOrIndexWithCustomSeparator) {
  IngestOptions o;
  o.parse.separator = ";";
  o.parse.columns = {"who", "what", "when", "did", "stars"};
  o.parse.action_map = {"p=view", "b=buy"};
  EventTable t = parse("csv", "extra;who;what;when;did;stars\nx;10;20;100;p;4\nx;11;20;90;b;2.5\n", nullptr, o);
  ASSERT_EQ(t.size(), 2);
  EXPECT_EQ(t.users.numeric, (std::vector<int64_t>{10, 11}));
  EXPECT_EQ(t.action, (std::vector<int8_t>{kActionView, kActionBuy}));
  EXPECT_EQ(t.rating, (std::vector<float>{4.0f, 2.5f}));

  IngestOptions n;
  n.parse.header = false;
  n.parse.columns = {"2", "0", "1", "-", "-"};
  EventTable u = parse("csv", "7,1000,3\n8,1001,3\n", nullptr, n);
  EXPECT_EQ(u.users.numeric, (std::vector<int64_t>{3}));
  EXPECT_EQ(u.items.numeric, (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(u.timestamp, (std::vector<int64_t>{1000, 1001}));
}

TEST(IngestParse, TimestampUnits) {
  IngestOptions ms;
  ms.parse.timestamp_unit = "milliseconds";
  EXPECT_EQ(parse("csv", "user_id,item_id,timestamp\n1,2,1511544070999\n", nullptr, ms).timestamp[0], 1511544070);
  IngestOptions iso;
  iso.parse.timestamp_unit = "iso8601";
  EventTable t = parse("csv",
                       "user_id,item_id,timestamp\n1,2,2017-11-24T17:21:10Z\n1,3,2017-11-24 18:21:10+01:00\n"
                       "1,4,1970-01-02\n",
                       nullptr, iso);
  // 2017-11-24T17:21:10Z = 1511544070 (date -u -d 2017-11-24T17:21:10 +%s).
  EXPECT_EQ(t.timestamp, (std::vector<int64_t>{1511544070, 1511544070, 86400}));
}

TEST(IngestParse, MalformedRowsAreCountedWithFileAndLine) {
  std::string text = "user_id,item_id,timestamp\n";
  for (int i = 0; i < 200; ++i) text += std::to_string(i % 7) + "," + std::to_string(i) + ",1000\n";
  text += "x1,5,1000\n";    // line 202: user not an integer
  text += "3,5,abc\n";      // line 203: bad timestamp
  ParseReport r;
  IngestOptions o;
  EventTable t = parse("csv", text, &r, o);
  EXPECT_EQ(t.size(), 200);
  EXPECT_EQ(r.malformed, 2);
  EXPECT_EQ(r.data_lines, 202);
  ASSERT_EQ(r.malformed_examples.size(), 2u);
  EXPECT_NE(r.malformed_examples[0].find("log.txt:202: user 'x1' is not an integer"), std::string::npos)
      << r.malformed_examples[0];
  EXPECT_NE(r.malformed_examples[1].find("log.txt:203: timestamp 'abc'"), std::string::npos)
      << r.malformed_examples[1];

  o.parse.strict = true;
  std::string msg = error_of([&] { parse("csv", text, nullptr, o); });
  EXPECT_NE(msg.find("log.txt:202:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("strict"), std::string::npos) << msg;
}

TEST(IngestParse, TooManyMalformedRowsIsAnError) {
  std::string text = "user_id,item_id,timestamp\n1,2,3\n1,b,3\n";
  std::string msg = error_of([&] { parse("csv", text); });
  EXPECT_NE(msg.find("1 of 2 data lines are malformed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("log.txt:3: item 'b'"), std::string::npos) << msg;
  IngestOptions lenient;
  lenient.parse.max_malformed_fraction = 0.5;
  EXPECT_EQ(parse("csv", text, nullptr, lenient).size(), 1);
}

TEST(IngestParse, UnknownActionIsMalformed) {
  IngestOptions o;
  o.parse.strict = true;
  std::string msg = error_of([&] { parse("taobao", "1,2,3,pv,100\n1,2,3,peek,100\n", nullptr, o); });
  EXPECT_NE(msg.find("log.txt:2: unknown action 'peek'"), std::string::npos) << msg;
}

TEST(IngestParse, RecBoleFolderResolvesToItsInterFile) {
  test::TempDir dir("seqmend_ingest");
  test::write_file(dir / "x.inter", "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t3\n");
  test::write_file(dir / "x.item", "item_id:token\n2\n");
  ParseReport r;
  EventTable t = parse_log(options_for("recbole", dir.str()), r);
  EXPECT_EQ(t.size(), 1);
  EXPECT_EQ(r.file, dir / "x.inter");
}

TEST(IngestParse, LargeAndNegativeIdsUseTheHashedPath) {
  // Ids beyond the direct-indexed range and negative ids must intern like small ones.
  EventTable t = parse("movielens",
                       "9000000000000\t-3\t1\t10\n"
                       "5\t40000000000\t1\t11\n"
                       "9000000000000\t40000000000\t1\t12\n"
                       "5\t-3\t1\t13\n");
  EXPECT_EQ(t.users.numeric, (std::vector<int64_t>{9000000000000, 5}));
  EXPECT_EQ(t.items.numeric, (std::vector<int64_t>{-3, 40000000000}));
  EXPECT_EQ(t.user, (std::vector<int32_t>{0, 1, 0, 1}));
  EXPECT_EQ(t.item, (std::vector<int32_t>{0, 1, 1, 0}));
}

TEST(IngestParse, ManyIdsSurviveTableGrowth) {
  std::string text;
  for (int i = 0; i < 20000; ++i)  // every id twice, mixing the direct and hashed paths
    text += std::to_string(i * 7919) + "\t" + std::to_string((int64_t(i) << 30) + 1) + "\t1\t1\n";
  for (int i = 0; i < 20000; ++i) text += std::to_string(i * 7919) + "\t" + std::to_string((int64_t(i) << 30) + 1) + "\t1\t2\n";
  EventTable t = parse("movielens", text);
  ASSERT_EQ(t.users.size(), 20000);
  ASSERT_EQ(t.items.size(), 20000);
  for (int i = 0; i < 40000; ++i) {
    ASSERT_EQ(t.user[size_t(i)], i % 20000);
    ASSERT_EQ(t.item[size_t(i)], i % 20000);
  }
}

}  // namespace
}  // namespace seqmend
