// Overrides written in another file (a sweep file's grid values, io/config.h LocatedOverride) and
// configs given as text: their errors name the file, line and column where the key or value was
// written, as errors in a config file do.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base/error.h"
#include "io/config.h"

namespace seqmend {
namespace {

struct Inner {
  int64_t width = 4;
  std::string name = "a";
  void visit(ConfigVisitor& v) {
    v.field("width", width, "width", 1, 100);
    v.field("name", name, "name");
  }
};

struct Outer {
  Inner inner;
  double rate = 0.5;
  std::vector<int64_t> ks = {1};
  void visit(ConfigVisitor& v) {
    v.section("inner", inner, "inner");
    v.field("rate", rate, "rate", 0.0, 1.0);
    v.field("ks", ks, "ks", 1, 50);
  }
};

std::string error_of(const std::vector<LocatedOverride>& overrides, const std::string& text = "") {
  try {
    load_config_text<Outer>(text, "base.yaml", overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(LocatedOverrideTest, AppliesLikeACommandLineOverride) {
  Outer o = load_config_text<Outer>("rate: 0.25\n", "base.yaml",
                                    {{"inner.width=7", "s.yaml:3:3", "s.yaml:3:18"}, {"ks=[5, 10]", "s.yaml:4:3", ""}});
  EXPECT_EQ(o.inner.width, 7);
  EXPECT_EQ(o.rate, 0.25);
  EXPECT_EQ(o.ks, (std::vector<int64_t>{5, 10}));
  // A quoted value stays a string.
  EXPECT_EQ(load_config_text<Outer>("", "b", {{"inner.name=\"0.1\"", "s:1:1", "s:1:5"}}).inner.name, "0.1");
}

TEST(LocatedOverrideTest, ValueErrorsNameTheValuesPlace) {
  EXPECT_EQ(error_of({{"inner.width=0", "s.yaml:3:3", "s.yaml:3:18"}}),
            "s.yaml:3:18: inner.width: value 0 is out of range [1, 100]");
  EXPECT_EQ(error_of({{"rate=fast", "s.yaml:4:3", "s.yaml:4:9"}}), "s.yaml:4:9: rate: expected a number, got `fast`");
  EXPECT_EQ(error_of({{"ks=[5, 99]", "s.yaml:5:3", "s.yaml:5:7"}}),
            "s.yaml:5:7: ks[1]: value 99 is out of range [1, 50]");
  EXPECT_EQ(error_of({{"inner=3", "s.yaml:6:3", "s.yaml:6:10"}}),
            "s.yaml:6:10: inner: expected a mapping of key: value lines, got `3`");
}

TEST(LocatedOverrideTest, KeyErrorsNameTheKeysPlace) {
  EXPECT_EQ(error_of({{"inner.widht=3", "s.yaml:3:3", "s.yaml:3:16"}}),
            "s.yaml:3:3: inner.widht: unknown key (did you mean `width`?)");
  EXPECT_EQ(error_of({{"width=3", "s.yaml:2:3", "s.yaml:2:10"}}),
            "s.yaml:2:3: width: unknown key (did you mean `inner.width`?)");
}

TEST(LocatedOverrideTest, TextConfigErrorsNameTheOrigin) {
  EXPECT_EQ(error_of({}, "\n\n  rate: 2\n"), "base.yaml:3:9: rate: value 2 is out of range [0.0, 1.0]");
  EXPECT_EQ(error_of({}, "rtae: 0.1\n"), "base.yaml:1:1: rtae: unknown key (did you mean `rate`?)");
  // Without a location an override is quoted, as on the command line.
  try {
    load_config<Outer>("", std::vector<std::string>{"rate=3"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "override `rate=3`: rate: value 3 is out of range [0.0, 1.0]");
  }
}

}  // namespace
}  // namespace seqmend
