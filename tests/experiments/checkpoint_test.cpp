// Checkpoint files: exact round trip of buffers and state, damage and truncation reported with the
// file name, keep/latest bookkeeping, fallback on a damaged newest checkpoint, metrics truncation.
#include "experiments/run/checkpoint.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "core/base/error.h"
#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {
namespace fs = std::filesystem;

ParamBuffer make_params(int64_t c, uint64_t seed) {
  ParamBuffer pb;
  pb.add("emb.item", {11, c}, ParamInit::Normal, true);
  pb.add("ln.w", {c}, ParamInit::Ones, false);
  pb.add("ln.b", {c}, ParamInit::Zeros, false);
  pb.add("out.w", {c, 3}, ParamInit::Normal, true);
  pb.allocate();
  pb.init(seed, 0.02f);
  float* m = pb.adam_m().data<float>();
  float* v = pb.adam_v().data<float>();
  for (int64_t i = 0; i < pb.numel(); ++i) {
    m[i] = float(normal_at(seed + 1, uint64_t(i)));
    v[i] = float(std::abs(normal_at(seed + 2, uint64_t(i))) * 1e-3);
  }
  return pb;
}

TrainingState make_state(int64_t step) {
  TrainingState st;
  st.step = step;
  st.epoch = step / 7;
  st.config_yaml = "run_dir: x\nseed: 3\n";
  st.model_yaml = "dim: 8\n";
  Rng r(42, 7);
  r.next_u64();
  st.put_rng("rng.data", r);
  st.counters["data.offset"] = uint64_t(step * 5);
  st.put_double("best_metric", 0.123456789);
  st.arrays["best_params"] = {1.5f, -2.25f, 3.0f};
  st.texts["best_valid"] = R"({"ndcg@10":0.5})";
  return st;
}

// A fresh directory per call; all are removed when the program ends.
std::string fresh_dir(const std::string& name) {
  static std::vector<std::unique_ptr<test::TempDir>> made;
  made.push_back(std::make_unique<test::TempDir>("seqmend_ckpt_test_" + name));
  return made.back()->str();
}

bool same_bits(Tensor& a, Tensor& b) {
  return a.numel() == b.numel() && std::memcmp(a.data<float>(), b.data<float>(), size_t(a.numel()) * 4) == 0;
}

using test::error_of;

TEST(Checkpoint, RoundTripIsBitExact) {
  const std::string dir = fresh_dir("roundtrip");
  ParamBuffer a = make_params(8, 1);
  const std::string path = dir + "/" + checkpoint_file_name(12);
  EXPECT_EQ(checkpoint_file_name(12), "ckpt-000012.h5");
  write_checkpoint(path, a, make_state(12));

  ParamBuffer b = make_params(8, 99);  // different contents, same layout
  ASSERT_FALSE(same_bits(a.params(), b.params()));
  TrainingState st = read_checkpoint(path, b);
  EXPECT_TRUE(same_bits(a.params(), b.params()));
  EXPECT_TRUE(same_bits(a.adam_m(), b.adam_m()));
  EXPECT_TRUE(same_bits(a.adam_v(), b.adam_v()));
  const TrainingState want = make_state(12);
  EXPECT_EQ(st.step, 12);
  EXPECT_EQ(st.epoch, want.epoch);
  EXPECT_EQ(st.counters, want.counters);
  EXPECT_EQ(st.get_rng("rng.data").key, want.get_rng("rng.data").key);
  EXPECT_EQ(st.get_rng("rng.data").counter, 1u);
  EXPECT_EQ(st.get_double("best_metric"), 0.123456789);
  EXPECT_EQ(st.arrays, want.arrays);
  EXPECT_EQ(st.texts, want.texts);
  EXPECT_EQ(st.config_yaml, want.config_yaml);
  EXPECT_EQ(st.model_yaml, want.model_yaml);
  EXPECT_FALSE(st.version.empty());
  EXPECT_NE(error_of([&] { st.counter("no.such.key"); }).find("no.such.key"), std::string::npos);
  // No temporary left behind.
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(Checkpoint, DifferentModelIsRejectedByName) {
  const std::string dir = fresh_dir("layout");
  ParamBuffer a = make_params(8, 1);
  const std::string path = dir + "/ckpt-000001.h5";
  write_checkpoint(path, a, make_state(1));
  ParamBuffer b = make_params(16, 1);
  std::string err = error_of([&] { read_checkpoint(path, b); });
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_NE(err.find("emb.item"), std::string::npos) << err;
}

TEST(Checkpoint, ChecksumMismatchNamesTheFile) {
  const std::string dir = fresh_dir("crc");
  ParamBuffer a = make_params(8, 1);
  const std::string path = dir + "/ckpt-000003.h5";
  write_checkpoint(path, a, make_state(3));
  {  // rewrite the stored CRC: every dataset still passes fletcher32, only our checksum can tell
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    hid_t at = H5Aopen(f, "crc32", H5P_DEFAULT);
    int64_t crc = 0;
    H5Aread(at, H5T_NATIVE_INT64, &crc);
    crc ^= 1;
    H5Awrite(at, H5T_NATIVE_INT64, &crc);
    H5Aclose(at);
    H5Fclose(f);
  }
  ParamBuffer b = make_params(8, 2);
  std::string err = error_of([&] { read_checkpoint(path, b); });
  EXPECT_NE(err.find("checksum mismatch in " + path), std::string::npos) << err;
}

TEST(Checkpoint, FlippedDataByteAndTruncationAreErrorsNamingTheFile) {
  const std::string dir = fresh_dir("damage");
  ParamBuffer a = make_params(64, 1);
  const std::string path = dir + "/ckpt-000004.h5";
  write_checkpoint(path, a, make_state(4));
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  // Flip one byte of the stored parameters (find them by their bit pattern).
  const float* p = a.params().data<float>();
  size_t at = bytes.find(std::string(reinterpret_cast<const char*>(p + 100), 16));
  ASSERT_NE(at, std::string::npos);
  std::string flipped = bytes;
  flipped[at + 5] ^= 0x40;
  const std::string bad = dir + "/ckpt-000005.h5";
  std::ofstream(bad, std::ios::binary) << flipped;
  ParamBuffer b = make_params(64, 2);
  std::string err = error_of([&] { read_checkpoint(bad, b); });
  EXPECT_NE(err.find(bad), std::string::npos) << err;

  const std::string cut = dir + "/ckpt-000006.h5";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  err = error_of([&] { read_checkpoint(cut, b); });
  EXPECT_NE(err.find(cut), std::string::npos) << err;
  EXPECT_FALSE(err.empty());
}

TEST(Checkpointer, KeepsNewestAndWritesLatestMarker) {
  const std::string dir = fresh_dir("keep");
  ParamBuffer a = make_params(8, 1);
  CheckpointConfig cfg;
  cfg.keep = 2;
  Checkpointer ck(dir, cfg, 0);
  for (int64_t s : {10, 20, 30}) ck.save(a, make_state(s));
  auto files = list_checkpoints(dir);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].step, 30);
  EXPECT_EQ(files[1].step, 20);
  std::ifstream in(dir + "/latest");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "ckpt-000030.h5");

  // Rank 1 writes nothing.
  Checkpointer other(dir, cfg, 1);
  other.save(a, make_state(40));
  EXPECT_EQ(list_checkpoints(dir)[0].step, 30);

  // A killed writer's temporary is ignored and cleared on restore.
  std::ofstream(dir + "/.ckpt-000040.h5.tmp.123.0") << "partial";
  ParamBuffer b = make_params(8, 5);
  auto st = ck.restore(b, "dim: 8\n");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->step, 30);
  EXPECT_EQ(ck.restored_path(), dir + "/ckpt-000030.h5");
  EXPECT_TRUE(same_bits(a.params(), b.params()));
  EXPECT_FALSE(fs::exists(dir + "/.ckpt-000040.h5.tmp.123.0"));
  // Other model hyper-parameters: an error, not a silent load.
  EXPECT_NE(error_of([&] { ck.restore(b, "dim: 16\n"); }).find("different model"), std::string::npos);
  // The stored text as this build writes it (a key renamed since) is what is compared.
  const auto renamed = [](const std::string& s) { return s == "dim: 8\n" ? std::string("width: 8\n") : s; };
  EXPECT_TRUE(ck.restore(b, "width: 8\n", renamed).has_value());
  EXPECT_NE(error_of([&] { ck.restore(b, "width: 16\n", renamed); }).find("different model"), std::string::npos);
}

TEST(Checkpointer, EmptyDirectoryIsAFreshStart) {
  const std::string dir = fresh_dir("empty");
  ParamBuffer a = make_params(8, 1);
  Checkpointer ck(dir, CheckpointConfig{}, 0);
  EXPECT_FALSE(ck.restore(a, "dim: 8\n").has_value());
  Checkpointer missing(dir + "/nonexistent", CheckpointConfig{}, 0);
  EXPECT_FALSE(missing.restore(a, "dim: 8\n").has_value());
}

TEST(Checkpointer, DamagedNewestIsAnErrorUnlessFallbackIsOn) {
  const std::string dir = fresh_dir("fallback");
  ParamBuffer a = make_params(8, 1);
  CheckpointConfig cfg;
  Checkpointer ck(dir, cfg, 0);
  ck.save(a, make_state(100));
  ParamBuffer later = make_params(8, 7);
  ck.save(later, make_state(200));
  const std::string newest = dir + "/ckpt-000200.h5";
  fs::resize_file(newest, fs::file_size(newest) / 2);

  ParamBuffer b = make_params(8, 3);
  std::string err = error_of([&] { ck.restore(b, "dim: 8\n"); });
  EXPECT_NE(err.find(newest), std::string::npos) << err;
  EXPECT_NE(err.find("ckpt-000100.h5"), std::string::npos) << err;  // the hint names the intact one
  EXPECT_TRUE(fs::exists(newest));

  cfg.fallback_on_damage = true;
  Checkpointer fb(dir, cfg, 0);
  auto st = fb.restore(b, "dim: 8\n");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->step, 100);
  EXPECT_TRUE(same_bits(a.params(), b.params()));
  EXPECT_FALSE(fs::exists(newest));  // moved aside, so it no longer counts as the newest
  EXPECT_TRUE(fs::exists(newest + ".damaged"));
}

TEST(Checkpoint, TruncateMetricsKeepsStepsUpToTheCheckpoint) {
  const std::string dir = fresh_dir("metrics");
  const std::string path = dir + "/metrics.jsonl";
  std::ofstream(path) << R"({"step":10,"loss":1.5})" "\n" R"({"note":"start"})" "\n"
                      << R"({"step":20,"loss":1.25})" "\n" R"({"step":30,"loss":1.0})" "\n" R"({"step":40,"lo)";
  truncate_metrics_after(path, 20);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "{\"step\":10,\"loss\":1.5}\n{\"note\":\"start\"}\n{\"step\":20,\"loss\":1.25}\n");
  truncate_metrics_after(dir + "/absent.jsonl", 5);
  EXPECT_FALSE(fs::exists(dir + "/absent.jsonl"));
}

}  // namespace
}  // namespace seqmend
