#include "io/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/base/error.h"
#include "io/atomic_file.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

struct EncoderConfig {
  int64_t num_heads = 2;
  int num_layers = 2;
  float dropout = 0.1f;
  std::vector<int64_t> dims = {64, 64};
  void visit(ConfigVisitor& v) {
    v.field("num_heads", num_heads, "attention heads", 1, 64);
    v.field("num_layers", num_layers, "blocks", 0, 100);
    v.field("dropout", dropout, "dropout rate", 0.0, 0.99);
    v.field("dims", dims, "layer widths", 1, 1 << 16);
  }
};

struct ModelSection {
  EncoderConfig encoder;
  std::string name = "bert4rec";
  void visit(ConfigVisitor& v) {
    v.section("encoder", encoder, "transformer encoder");
    v.field("name", name, "model name");
  }
};

struct TestConfig {
  double lr = 1e-3;
  std::string schedule = "cosine";
  bool causal = false;
  uint64_t seed = 42;
  int batch = 32;
  std::string data_dir = "data/ml-100k";
  std::vector<double> weights = {0.5, 0.25};
  std::vector<std::string> tags = {"a", "b c"};
  uint64_t shards = 4;
  ModelSection model;
  void visit(ConfigVisitor& v) {
    v.field("lr", lr, "peak learning rate", 0.0, 10.0);
    v.choice("schedule", schedule, {"constant", "linear", "cosine"}, "learning-rate schedule");
    v.field("causal", causal, "causal attention");
    v.field("seed", seed, "rng seed");
    v.field("batch", batch, "sequences per step", 1, 1 << 20);
    v.field("data_dir", data_dir, "input directory");
    v.field("weights", weights, "loss weights", 0.0, 1.0);
    v.field("tags", tags, "free-form labels");
    v.field("shards", shards, "output shards", 1, 1024);
    v.section("model", model, "the model");
  }
};

struct FloatEdges {
  float big = 0, tiny = 0, third = 0;
  void visit(ConfigVisitor& v) {
    v.field("big", big, "largest float");
    v.field("tiny", tiny, "smallest denormal", 0.0, 1.0);
    v.field("third", third, "1/3");
  }
};

class ConfigTest : public ::testing::Test {
 protected:

  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // The message of the seqmend::Error that `f` throws ("" when it does not throw).
  template <typename F>
  static std::string error_of(F f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  test::TempDir tmp_{"seqmend_config"};
  std::string dir_ = tmp_.str();
};

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "in: " << (haystack)

TEST_F(ConfigTest, DefaultsStayWhenKeysAreAbsent) {
  auto path = write("c.yaml", "lr: 0.01\nmodel:\n  encoder:\n    num_heads: 4\n");
  auto cfg = load_config<TestConfig>(path);
  EXPECT_DOUBLE_EQ(cfg.lr, 0.01);
  EXPECT_EQ(cfg.model.encoder.num_heads, 4);
  EXPECT_EQ(cfg.model.encoder.num_layers, 2);  // default kept
  EXPECT_EQ(cfg.schedule, "cosine");
  EXPECT_EQ(cfg.seed, 42u);
  EXPECT_EQ(cfg.model.name, "bert4rec");
}

TEST_F(ConfigTest, EmptyPathAndEmptyFileGiveDefaults) {
  auto a = load_config<TestConfig>("");
  auto b = load_config<TestConfig>(write("empty.yaml", "# nothing yet\n"));
  EXPECT_EQ(a.batch, 32);
  EXPECT_EQ(b.batch, 32);
  EXPECT_EQ(b.tags, (std::vector<std::string>{"a", "b c"}));
}

TEST_F(ConfigTest, ReadsEveryType) {
  auto path = write("c.yaml",
                    "lr: 3.0e-4\nschedule: linear\ncausal: true\nseed: 18446744073709551615\nbatch: 0x40\n"
                    "data_dir: \"123\"\nweights: [0, 1.0, .5]\ntags:\n  - x\n  - 'y'\n"
                    "model:\n  name: sasrec\n  encoder: {dims: [8, 16, 32], dropout: 0.3}\n");
  auto cfg = load_config<TestConfig>(path);
  EXPECT_DOUBLE_EQ(cfg.lr, 3e-4);
  EXPECT_EQ(cfg.schedule, "linear");
  EXPECT_TRUE(cfg.causal);
  EXPECT_EQ(cfg.seed, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(cfg.batch, 64);
  EXPECT_EQ(cfg.data_dir, "123");
  EXPECT_EQ(cfg.weights, (std::vector<double>{0.0, 1.0, 0.5}));
  EXPECT_EQ(cfg.tags, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(cfg.model.name, "sasrec");
  EXPECT_EQ(cfg.model.encoder.dims, (std::vector<int64_t>{8, 16, 32}));
  EXPECT_EQ(cfg.model.encoder.dropout, 0.3f);
}

TEST_F(ConfigTest, UnknownKeySuggestsNearestNameWithLineAndColumn) {
  auto path = write("c.yaml", "lr: 0.01\nmodel:\n  encoder:\n    num_head: 4\n");
  std::string msg = error_of([&] { load_config<TestConfig>(path); });
  EXPECT_CONTAINS(msg, path + ":4:5: model.encoder.num_head: unknown key");
  EXPECT_CONTAINS(msg, "did you mean `num_heads`?");
}

TEST_F(ConfigTest, UnknownKeyAtTopLevelAndSwappedLetters) {
  auto path = write("c.yaml", "shcedule: linear\n");
  std::string msg = error_of([&] { load_config<TestConfig>(path); });
  EXPECT_CONTAINS(msg, path + ":1:1: shcedule: unknown key (did you mean `schedule`?)");
  // Nothing close: the valid names at that level are listed instead.
  auto far = write("far.yaml", "model:\n  zzzzzz: 1\n");
  msg = error_of([&] { load_config<TestConfig>(far); });
  EXPECT_CONTAINS(msg, ":2:3: model.zzzzzz: unknown key (valid keys in `model`: encoder, name)");
  // A key in the wrong section points to where it belongs; further unknown keys are counted.
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"num_heads=4"}); }),
                  "num_heads: unknown key (did you mean `model.encoder.num_heads`?)");
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"model.dropuot=0.2"}); }),
                  "model.dropuot: unknown key (did you mean `model.encoder.dropout`?)");
  auto two = write("two.yaml", "model:\n  encoder:\n    nheads: 4\nbogus_key: 1\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(two); }),
                  two + ":3:5: model.encoder.nheads: unknown key (valid keys in `model.encoder`: num_heads, "
                  "num_layers, dropout, dims); 1 more unknown key(s): bogus_key");
  auto dotted = write("dotted.yaml", "model.encoder.num_heads: 4\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(dotted); }),
                  dotted + ":1:1: model.encoder.num_heads: dotted keys are for command-line overrides");
  // One letter is one edit from every other one-letter name: no hint for that.
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"x=1"}); }), "x: unknown key (valid keys: lr, schedule,");
}

TEST_F(ConfigTest, WrongTypesNameKeyAndPosition) {
  auto p1 = write("a.yaml", "model:\n  encoder:\n    num_heads: four\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p1); }),
                  p1 + ":3:16: model.encoder.num_heads: expected an integer, got `four`");
  auto p2 = write("b.yaml", "batch: 1.5\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p2); }), "batch: expected an integer, got `1.5` (a float)");
  auto p3 = write("c.yaml", "causal: yes\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p3); }), p3 + ":1:9: causal: expected true or false");
  auto p4 = write("d.yaml", "lr: \"0.1\"\n");  // quoted: a string, not a number
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p4); }), "lr: expected a number, got `0.1`");
  auto p5 = write("e.yaml", "weights: 0.5\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p5); }), "weights: expected a sequence");
  auto p6 = write("f.yaml", "model: 3\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p6); }), p6 + ":1:8: model: expected a mapping");
  auto p7 = write("g.yaml", "data_dir:\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p7); }), "data_dir: empty value");
  auto p8 = write("h.yaml", "model:\n  encoder:\n    dims: [8, x]\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p8); }),
                  p8 + ":3:15: model.encoder.dims[1]: expected an integer, got `x`");
}

TEST_F(ConfigTest, OutOfRangeIncludingNarrowTypes) {
  auto p1 = write("a.yaml", "lr: 11\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p1); }), p1 + ":1:5: lr: value 11 is out of range [0.0, 10.0]");
  auto p2 = write("b.yaml", "model:\n  encoder:\n    num_heads: 0\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p2); }), "model.encoder.num_heads: value 0 is out of range [1, 64]");
  // int field: 2^31 does not fit even though the declared range is wider than int.
  auto p3 = write("c.yaml", "batch: 2147483648\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p3); }), "batch: value 2147483648 is out of range");
  auto p4 = write("d.yaml", "seed: -1\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p4); }), "seed: value -1 is out of range");
  auto p5 = write("e.yaml", "seed: 18446744073709551616\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p5); }), "seed: value 18446744073709551616 is out of range");
  auto p6 = write("f.yaml", "model:\n  encoder:\n    dropout: 1e39\n");  // > FLT_MAX
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p6); }), "model.encoder.dropout: value 1e39 is out of range");
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"shards=0"}); }), "shards: value 0 is out of range [1, 1024]");
  EXPECT_EQ(load_config<TestConfig>("", {"shards=1024"}).shards, 1024u);
  auto p7 = write("g.yaml", "lr: .nan\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p7); }), "lr: NaN is not a valid setting");
  auto p8 = write("h.yaml", "weights: [0.5, 2]\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(p8); }), p8 + ":1:16: weights[1]: value 2 is out of range");
}

TEST_F(ConfigTest, ChoiceListsAllowedValues) {
  auto path = write("c.yaml", "schedule: cosin\n");
  std::string msg = error_of([&] { load_config<TestConfig>(path); });
  EXPECT_CONTAINS(msg, path + ":1:11: schedule: `cosin` is not one of: constant, linear, cosine");
  EXPECT_CONTAINS(msg, "did you mean `cosine`?");
}

TEST_F(ConfigTest, DuplicateKeyIsAnError) {
  auto path = write("c.yaml", "lr: 0.1\nbatch: 4\nlr: 0.2\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(path); }), path + ":3:1: lr: duplicate key (first at line 1)");
}

TEST_F(ConfigTest, OverridesApplyAfterTheFile) {
  auto path = write("c.yaml", "lr: 0.01\nbatch: 8\n");
  auto cfg = load_config<TestConfig>(path, {"lr=0.5", "model.encoder.dims=[1,2]", "model.encoder.num_heads=8",
                                            "schedule=constant", "model.name=123", "tags=[]", "batch=16",
                                            "batch=17"});
  EXPECT_DOUBLE_EQ(cfg.lr, 0.5);
  EXPECT_EQ(cfg.model.encoder.dims, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(cfg.model.encoder.num_heads, 8);
  EXPECT_EQ(cfg.schedule, "constant");
  EXPECT_EQ(cfg.model.name, "123");
  EXPECT_TRUE(cfg.tags.empty());
  EXPECT_EQ(cfg.batch, 17);  // the last one wins
  EXPECT_EQ(load_config<TestConfig>("", {"causal=true"}).causal, true);
  // A flow mapping sets part of a section.
  auto sec = load_config<TestConfig>("", {"model.encoder={num_heads: 16, dims: [4]}"});
  EXPECT_EQ(sec.model.encoder.num_heads, 16);
  EXPECT_EQ(sec.model.encoder.dims, (std::vector<int64_t>{4}));
  EXPECT_EQ(sec.model.encoder.num_layers, 2);
}

TEST_F(ConfigTest, OverrideErrorsNameTheOverride) {
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"model.encoder.num_head=4"}); }),
                  "override `model.encoder.num_head=4`: model.encoder.num_head: unknown key (did you mean `num_heads`?)");
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"model.encoder.num_heads=abc"}); }),
                  "override `model.encoder.num_heads=abc`: model.encoder.num_heads: expected an integer, got `abc`");
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"lr=-1"}); }),
                  "override `lr=-1`: lr: value -1 is out of range");
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"schedule=step"}); }), "is not one of: constant, linear, cosine");
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"lr"}); }), "override `lr`: expected key=value");
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"model..name=x"}); }), "override `model..name=x`: bad key");
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"weights=[1,2"}); }), "override `weights=[1,2`: bad value");
  EXPECT_CONTAINS(error_of([] { load_config<TestConfig>("", {"model=3"}); }), "override `model=3`: model: expected a mapping");
}

TEST_F(ConfigTest, MissingFileAndSyntaxError) {
  std::string missing = dir_ + "/nope.yaml";
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(missing); }), "config file not found: " + missing);
  auto path = write("bad.yaml", "lr: 0.1\nmodel:\n  name: [unclosed\n");
  std::string msg = error_of([&] { load_config<TestConfig>(path); });
  EXPECT_CONTAINS(msg, path + ":");
  EXPECT_CONTAINS(msg, ": YAML syntax error: ");
  auto tab = write("tab.yaml", "lr: 0.1\n  batch: 3\n");  // bad indentation
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(tab); }), tab + ":2:");
  auto tabs = write("tabs.yaml", "model:\n\tname: x\n");
  EXPECT_CONTAINS(error_of([&] { load_config<TestConfig>(tabs); }), "tabs are not allowed in YAML indentation");
}

TEST_F(ConfigTest, RoundTripGivesIdenticalValues) {
  auto path = write("c.yaml",
                    "lr: 0.1\nschedule: linear\nseed: 12345678901234567890\ndata_dir: \"true\"\n"
                    "weights: [0.3333333333333333, 1e-300]\ntags: [\"#x\", \"\", \"a: b\", \"quote\\\"d\", \"null\", \"1.5\"]\n"
                    "model: {encoder: {dropout: 0.7, dims: [3]}, name: \"line\\nbreak\"}\n");
  auto a = load_config<TestConfig>(path, {"model.encoder.num_layers=7"});
  std::string out = dir_ + "/resolved.yaml";
  write_config(a, out);
  auto b = load_config<TestConfig>(out);
  EXPECT_EQ(a.lr, b.lr);
  EXPECT_EQ(a.schedule, b.schedule);
  EXPECT_EQ(a.causal, b.causal);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.batch, b.batch);
  EXPECT_EQ(a.data_dir, b.data_dir);
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.model.name, b.model.name);
  EXPECT_EQ(a.model.encoder.num_heads, b.model.encoder.num_heads);
  EXPECT_EQ(b.model.encoder.num_layers, 7);
  EXPECT_EQ(a.model.encoder.dropout, b.model.encoder.dropout);
  EXPECT_EQ(a.model.encoder.dims, b.model.encoder.dims);
  // Writing again gives the same text: nothing drifts between runs.
  EXPECT_EQ(config_to_yaml(a), config_to_yaml(b));
  // Extreme floats survive too.
  FloatEdges edges;
  edges.big = std::numeric_limits<float>::max();
  edges.tiny = std::numeric_limits<float>::denorm_min();
  edges.third = 1.0f / 3.0f;
  std::string fe = dir_ + "/floats.yaml";
  write_config(edges, fe);
  auto back = load_config<FloatEdges>(fe);
  EXPECT_EQ(back.big, edges.big);
  EXPECT_EQ(back.tiny, edges.tiny);
  EXPECT_EQ(back.third, edges.third);
  // Floats print in their own precision, not as the double they widen to.
  EXPECT_CONTAINS(config_to_yaml(b), "dropout: 0.7  # dropout rate");
}

TEST_F(ConfigTest, WrittenYamlHasEveryFieldAndComments) {
  TestConfig cfg;
  std::string y = config_to_yaml(cfg);
  EXPECT_CONTAINS(y, "lr: 0.001  # peak learning rate\n");
  EXPECT_CONTAINS(y, "schedule: cosine  # learning-rate schedule (constant|linear|cosine)\n");
  EXPECT_CONTAINS(y, "# the model\nmodel:\n  # transformer encoder\n  encoder:\n    num_heads: 2");
  EXPECT_CONTAINS(y, "tags: [a, \"b c\"]");
  EXPECT_CONTAINS(y, "weights: [0.5, 0.25]");
}

TEST_F(ConfigTest, ReferenceListsFullKeysAndRanges) {
  TestConfig cfg;
  std::string ref = config_reference(cfg);
  EXPECT_CONTAINS(ref, "model.encoder.num_heads = 2  (int in [1, 64])  attention heads");
  EXPECT_CONTAINS(ref, "schedule = cosine  (one of constant|linear|cosine)");
  EXPECT_CONTAINS(ref, "lr = 0.001  (float in [0.0, 10.0])");
}

// A default outside the declared range is a sentinel ("-1 = take it from the data"): it is written
// out and reads back, while the same out-of-range value typed by a user for another field fails.
struct SentinelConfig {
  int64_t n = -1;
  double scale = 0.0;
  std::string mode = "";
  void visit(ConfigVisitor& v) {
    v.field("n", n, "count, -1 = from the data", 0, 10);
    v.field("scale", scale, "scale, 0 = automatic", 0.5, 2.0);
    v.choice("mode", mode, {"fast", "slow"}, "mode, empty = automatic");
  }
};
struct TwiceDescribed {
  int64_t n = 1;
  void visit(ConfigVisitor& v) {
    v.field("n", n, "count");
    v.field("n", n, "count again");
  }
};

TEST_F(ConfigTest, SentinelDefaultsReadBack) {
  SentinelConfig a;
  auto path = write("s.yaml", config_to_yaml(a));
  auto b = load_config<SentinelConfig>(path);
  EXPECT_EQ(b.n, -1);
  EXPECT_EQ(b.scale, 0.0);
  EXPECT_EQ(b.mode, "");
  EXPECT_CONTAINS(error_of([&] { load_config<SentinelConfig>(path, {"n=-2"}); }), "n: value -2 is out of range [0, 10]");
  EXPECT_CONTAINS(error_of([&] { load_config<SentinelConfig>(path, {"scale=3"}); }), "scale: value 3 is out of range");
  EXPECT_CONTAINS(error_of([&] { load_config<SentinelConfig>(path, {"mode=medium"}); }), "is not one of: fast, slow");
  EXPECT_EQ(load_config<SentinelConfig>(path, {"n=4", "mode=slow"}).n, 4);
}

TEST_F(ConfigTest, DescribingAKeyTwiceIsReported) {
  EXPECT_CONTAINS(error_of([] { load_config<TwiceDescribed>(""); }), "config struct describes `n` twice");
}

TEST_F(ConfigTest, AtomicWriteLeavesNoTempFile) {
  std::string path = dir_ + "/out.txt";
  write_file_atomic(path, "first");
  write_file_atomic(path, "second");
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "second");
  std::vector<std::string> names;
  for (auto& e : std::filesystem::directory_iterator(dir_)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"out.txt"});
  // A failing write (no such directory) throws and leaves nothing behind.
  EXPECT_CONTAINS(error_of([&] { write_file_atomic(dir_ + "/missing/x.txt", "x"); }), "write_file_atomic: cannot create");
}

TEST_F(ConfigTest, AtomicFileCommitsOrCleansUp) {
  std::string path = dir_ + "/model.bin";
  {
    AtomicFile f(path);
    std::ofstream(f.temp_path()) << "partial";
  }  // not committed: temp removed, target never created
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
  {
    AtomicFile f(path);
    std::ofstream(f.temp_path()) << "whole";
    f.commit();
  }
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "whole");
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_)) n += e.path() != path;
  EXPECT_EQ(n, 0u);
}

}  // namespace
}  // namespace seqmend

namespace seqmend {
namespace {

// Values echoed into errors stay readable (a 10 MB value is cut, its length given; raw bytes are
// escaped), and strings that are not UTF-8 are refused with their key path, in a file and in an
// override, before anything could write them into JSON.
TEST_F(ConfigTest, HostileValuesGetShortMessagesAndNonUtf8StringsAreRefused) {
  const std::string big(10 << 20, '9');
  std::string msg = error_of([&] { load_config<TestConfig>("", {"batch=" + big}); });
  EXPECT_LT(msg.size(), 1000u);
  EXPECT_NE(msg.find("(10485766 bytes)"), std::string::npos) << msg.substr(0, 400);
  EXPECT_NE(msg.find("batch"), std::string::npos) << msg.substr(0, 400);
  msg = error_of([&] { load_config<TestConfig>("", {"data_dir=/tmp/r\xFF"}); });
  EXPECT_NE(msg.find("data_dir: `/tmp/r\\xFF` is not valid UTF-8 (byte 6)"), std::string::npos) << msg;
  msg = error_of([&] { load_config<TestConfig>("", {"tags=[ok, \"b\xC0\xAF\"]"}); });
  EXPECT_NE(msg.find("tags[1]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not valid UTF-8"), std::string::npos) << msg;
  const std::string file = write("bytes.yaml", "model:\n  name: \"x\xFE\"\n");
  msg = error_of([&] { load_config<TestConfig>(file); });
  EXPECT_NE(msg.find(":2:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.name"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\\xFE"), std::string::npos) << msg;
}

}  // namespace
}  // namespace seqmend
