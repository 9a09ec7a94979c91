// YAML written back as it was read (experiments/cli/yaml_text.h): quoted scalars stay quoted (a string
// that looks like a number or a bool stays a string), flow collections stay intact, dotted keys set
// nested values.
#include <gtest/gtest.h>

#include "experiments/cli/yaml_text.h"

namespace seqmend {
namespace {

TEST(YamlTextTest, ValuesReadBackAsTheSameYaml) {
  YAML::Node n =
      YAML::Load("a: \"0.1\"\nb: 0.1\nc: [1, '2', x]\nd: 'yes'\ne: \"a: b\"\nf: [\"p,q\"]\ng: |\n  two\n  lines\n");
  EXPECT_EQ(yaml_value_text(n["a"]), "\"0.1\"");
  EXPECT_EQ(yaml_value_text(n["b"]), "0.1");
  EXPECT_EQ(yaml_value_text(n["c"]), "[1, \"2\", x]");
  EXPECT_EQ(yaml_value_text(n["d"]), "\"yes\"");
  EXPECT_EQ(yaml_value_text(n["e"]), "\"a: b\"");
  EXPECT_EQ(yaml_value_text(n["f"]), "[\"p,q\"]");
  EXPECT_EQ(yaml_value_text(n["g"]), "\"two\\nlines\\n\"");
  // Round trip: what is written reads back as the same scalars and tags.
  for (const char* k : {"a", "b", "d", "e", "g"}) {
    YAML::Node back = YAML::Load(yaml_value_text(n[k]));
    EXPECT_EQ(back.Scalar(), n[k].Scalar()) << k;
    EXPECT_EQ(yaml_quoted(back), yaml_quoted(n[k]) || k == std::string("e") || k == std::string("g")) << k;
  }
}

TEST(YamlTextTest, BlockTextAndDottedKeys) {
  YAML::Node root = YAML::Load("run_dir: x\npretrain:\n  model:\n    d_model: 16\n  max_steps: 3\n");
  yaml_set_dotted(root, "pretrain.model.d_model", YAML::Load("32"));
  yaml_set_dotted(root, "pretrain.optim.lr", YAML::Load("\"0.5\""));
  yaml_set_dotted(root, "run_dir.deeper", YAML::Load("1"));  // a scalar on the way becomes a mapping
  EXPECT_EQ(yaml_block_text(root),
            "run_dir:\n  deeper: 1\npretrain:\n  model:\n    d_model: 32\n  max_steps: 3\n  optim:\n    lr: \"0.5\"\n");
}

}  // namespace
}  // namespace seqmend
