// `seqmend finetune` and `seqmend detect` end to end through the built binary on a tiny simulated
// set: a tiny pretrained encoder, a few hundred detector steps with anomalies injected on the fly,
// then detection on the corrupted split with stored labels. The detector must beat chance on
// noise clicks, and the detector checkpoint must carry thresholds and the encoder's checksum.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/detector.h"
#include "experiments/cli/finetune_stage.h"
#include "experiments/detect/detector_checkpoint.h"
#include "experiments/detect/detector_scores.h"
#include "experiments/run/checkpoint.h"
#include "io/file_checksum.h"
#include "kernels/device.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

using test_support::Ran;
using test_support::run_shell;

std::string bin() { return "timeout 120 " + std::string(SEQMEND_BINARY); }

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

// The loss of every metrics.jsonl record of a run directory.
std::vector<double> losses(const std::string& run) {
  std::vector<double> out;
  std::ifstream f(run + "/metrics.jsonl");
  for (std::string line; std::getline(f, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.push_back(j["loss"].get<double>());
  }
  return out;
}

class FinetuneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<test::TempDir>("seqmend_finetune");
    root_ = tmp_->path();
    Ran r = run_shell(bin() + " simulate --config " SEQMEND_SOURCE_DIR "/experiments/configs/simulate.yaml --out " +
                      path("data") +
                      " simulator.num_users=200 simulator.num_items=120 simulator.num_clusters=6"
                      " simulator.length_min=8 simulator.length_max=40 simulator.length_median=20"
                      " max_events_per_shard=1500 fsync=false threads=1");
    ASSERT_EQ(r.status, 0) << r.output;
    // Pretrain leaves its parameters in a checkpoint at step 60 (the boundary before step 61).
    r = run_shell(bin() + " pretrain --config " SEQMEND_SOURCE_DIR "/experiments/configs/pretrain_tiny.yaml data_dir=" +
                  path("data/clean") + " run_dir=" + path("pre") +
                  " max_steps=61 checkpoint.every=60 eval_every=60 eval_test=false optim.lr=0.01 threads=2");
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_FALSE(list_checkpoints(path("pre")).empty()) << r.output;
  }
  static void TearDownTestSuite() { tmp_.reset(); }

  static std::string path(const std::string& name) { return (root_ / name).string(); }
  static std::string finetune_args(const std::string& run) {
    return " finetune data_dir=" + path("data/clean") + " run_dir=" + run + " encoder_checkpoint=" + path("pre") +
           " simulator_config=" + path("data/config.yaml") +
           " labels=inject inject.noise_rate=0.1 inject.bot_rate=0.1 inject.protect_last=2"
           " global_batch_size=32 max_steps=200 log_every=50 optim.lr=0.005 optim.warmup_steps=10"
           " optim.schedule=cosine detector.heads.hidden=32 threads=2";
  }
  static std::unique_ptr<test::TempDir> tmp_;
  static fs::path root_;
};
std::unique_ptr<test::TempDir> FinetuneTest::tmp_;
fs::path FinetuneTest::root_;

TEST_F(FinetuneTest, DetectorBeatsChanceOnNoiseClicksAndWritesItsCheckpoint) {
  const std::string run = path("ft");
  Ran r = run_shell(bin() + finetune_args(run));
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* f : {"config.yaml", "run.json", "metrics.jsonl", "results.json", "detector.h5"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f << "\n" << r.output;
  EXPECT_NE(r.output.find("finetune step 200/200"), std::string::npos) << r.output;

  // The checkpoint names the encoder it came from, with that file's CRC-32, and holds thresholds.
  LoadedDetector ld = load_detector(run);
  const std::string enc = list_checkpoints(path("pre")).front().path;
  EXPECT_EQ(ld.info.encoder_checkpoint, enc);
  EXPECT_EQ(ld.info.encoder_crc32, file_crc32(enc));
  EXPECT_EQ(ld.info.step, 200);
  EXPECT_TRUE(std::isfinite(ld.info.thresholds.event));
  EXPECT_TRUE(std::isfinite(ld.info.thresholds.sequence));
  EXPECT_NE(ld.info.finetune_yaml.find("labels: inject"), std::string::npos);

  // Detection on the corrupted test split (stored labels from `seqmend simulate`).
  const std::string out = path("det");
  r = run_shell(bin() + " detect data_dir=" + path("data") + " split=test detector_checkpoint=" + run +
                " run_dir=" + out + " threads=2");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json d = read_json(out + "/detection.json");
  const double auc = d["event"]["by_type"]["noise_click"]["roc_auc"].get<double>();
  EXPECT_GT(auc, 0.7) << d.dump(2);
  const double bot_auc = d["sequence"]["overall"]["roc_auc"].get<double>();
  EXPECT_GT(bot_auc, 0.7) << d.dump(2);
  EXPECT_TRUE(d["surprisal"]["event"].contains("overall")) << d.dump(2);
  std::printf("noise-click ROC-AUC %.3f, bot ROC-AUC %.3f, surprisal noise-click ROC-AUC %s\n", auc, bot_auc,
              d["surprisal"]["event"]["by_type"]["noise_click"]["roc_auc"].dump().c_str());
}

// Fine-tuning on 2 ranks takes the same steps as on 1: each rank injects the whole global batch
// (bots are llround(bot_rate · batch), which halves would round differently) and trains on its deal.
TEST_F(FinetuneTest, TwoRanksGiveTheSameLossesAsOne) {
  const std::string args = " max_steps=40 log_every=5 threads=1";
  Ran r1 = run_shell(bin() + finetune_args(path("ft_one")) + args);
  ASSERT_EQ(r1.status, 0) << r1.output;
  Ran r2 = run_shell("timeout 120 mpirun -np 2 --oversubscribe --allow-run-as-root " + std::string(SEQMEND_BINARY) +
                     finetune_args(path("ft_two")) + args);
  ASSERT_EQ(r2.status, 0) << r2.output;
  const auto a = losses(path("ft_one")), b = losses(path("ft_two"));
  ASSERT_EQ(a.size(), 8u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], a[i], 1e-4 * std::fabs(a[i])) << "log line " << i;
}

// Fine-tuning runs in the pretraining loop, so a NaN on one rank stops every rank at that step,
// naming the rank it arose on, and a rank that throws ends the job.
TEST_F(FinetuneTest, NanGradientOnOneRankStopsEveryRank) {
  const std::string mpirun = "timeout 120 mpirun -np 2 --oversubscribe --allow-run-as-root " + std::string(SEQMEND_BINARY);
  Ran r = run_shell(mpirun + finetune_args(path("ft_nan")) + " max_steps=20 log_every=1 threads=1"
                    " debug.nan_grad_step=7 debug.nan_rank=1");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "the job hung until the timeout:\n" << r.output;
  EXPECT_NE(r.output.find("loss or gradient at step 7"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("failed on rank(s) 1 of 2"), std::string::npos) << "names the rank:\n" << r.output;
  EXPECT_NE(r.output.find("finetune step 7/20"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("finetune step 8/20"), std::string::npos) << "no step after the NaN:\n" << r.output;

  r = run_shell(mpirun + finetune_args(path("ft_throw")) + " max_steps=20 threads=1 debug.throw_step=4 debug.throw_rank=1");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "the job hung until the timeout:\n" << r.output;
  EXPECT_NE(r.output.find("injected failure at step 4"), std::string::npos) << r.output;
}

TEST_F(FinetuneTest, FrozenEncoderLeavesTheEncoderAsPretrained) {
  const std::string run = path("ft_frozen");
  Ran r = run_shell(bin() + finetune_args(run) + " max_steps=20 detector.freeze_encoder=true");
  ASSERT_EQ(r.status, 0) << r.output;
  LoadedDetector ld = load_detector(run);
  ItemTransformer pre(ld.detector->encoder().config());
  load_encoder_checkpoint(pre, ld.info.encoder_checkpoint, true);
  const Tensor& a = pre.params().params();
  const Tensor& b = ld.detector->encoder().params().params();
  ASSERT_EQ(a.numel(), b.numel());
  EXPECT_EQ(0, std::memcmp(a.data<float>(), b.data<float>(), sizeof(float) * size_t(a.numel())));
}

// `labels: auto` on the simulator's corrupted set trains on its stored labels: every head sees
// labelled items and has a non-zero loss.
TEST_F(FinetuneTest, StoredLabelsReachTheHeads) {
  const std::string run = path("ft_stored");
  Ran r = run_shell(bin() + " finetune data_dir=" + path("data") + " run_dir=" + run + " encoder_checkpoint=" +
                    path("pre") + " labels=auto global_batch_size=32 max_steps=10 log_every=5 threads=2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("labels stored"), std::string::npos) << r.output;
  const nlohmann::json res = read_json(run + "/results.json");
  EXPECT_EQ(res["labels"], "stored") << res.dump(2);
  std::ifstream m(run + "/metrics.jsonl");
  std::string line;
  int steps = 0;
  while (std::getline(m, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (!j.contains("loss_event")) continue;
    ++steps;
    EXPECT_GT(j["loss_event"].get<double>(), 0.0) << line;
    EXPECT_GT(j["loss_sequence"].get<double>(), 0.0) << line;
  }
  EXPECT_EQ(steps, 2) << "metrics.jsonl of " << run;
}

TEST_F(FinetuneTest, ConfigErrorsNameTheKey) {
  Ran r = run_shell(bin() + " finetune data_dir=" + path("data/clean") + " run_dir=" + path("bad") +
                    " max_steps=5 labels=sometimes");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("labels"), std::string::npos) << r.output;
  r = run_shell(bin() + " finetune data_dir=" + path("data/clean") + " run_dir=" + path("bad2") +
                " max_steps=5 labels=stored");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("no anomaly labels"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("bad2"))) << "a failed run leaves no empty run directory";
}

// An encoder_checkpoint that is not a checkpoint is named as such (not as a missing config.yaml
// beside it), for a text file and for another HDF5 file (a shard); no run directory is left.
TEST_F(FinetuneTest, EncoderCheckpointThatIsNotOneIsSaidToBeSo) {
  std::ofstream(path("notes.txt")) << "not a checkpoint\n";
  Ran r = run_shell(bin() + " finetune data_dir=" + path("data") + " run_dir=" + path("nock") +
                    " max_steps=1 encoder_checkpoint=" + path("notes.txt"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("encoder_checkpoint '" + path("notes.txt") + "'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not a seqmend checkpoint (not an HDF5 file)"), std::string::npos) << r.output;
  r = run_shell(bin() + " finetune data_dir=" + path("data") + " run_dir=" + path("nock") +
                " max_steps=1 encoder_checkpoint=" + path("data/train-00000.h5"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("not a seqmend checkpoint (an HDF5 file without format"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("nock")));
}

// device=cuda: on a GPU, the detector's losses follow the CPU run's (same batches, injections and
// dropout; only rounding differs) and detect scores there alike; without one, both commands stop at
// once and say why instead of falling back to the CPU.
TEST_F(FinetuneTest, GpuFinetuneAndDetectMatchTheCpuOrSayWhyTheyCannot) {
  Ran bad = run_shell(bin() + finetune_args(path("ft_tpu")) + " device=tpu");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("device `tpu`"), std::string::npos) << bad.output;
  const std::string gpu = path("ft_cuda"), cpu = path("ft_cpu");
  Ran g = run_shell(bin() + finetune_args(gpu) + " max_steps=30 log_every=1 device=cuda");
  if (cuda_device_count() == 0) {
    EXPECT_NE(g.status, 0) << g.output;
    EXPECT_NE(g.status, 124) << "hung:\n" << g.output;
    EXPECT_NE(g.output.find("finetune: device cuda, but this"), std::string::npos) << g.output;
    Ran d = run_shell(bin() + " detect data_dir=" + path("data") + " split=test detector_checkpoint=" + gpu +
                      " run_dir=" + path("det_cuda") + " device=cuda");
    EXPECT_NE(d.status, 0) << d.output;
    GTEST_SKIP() << "no usable GPU: checked the refusals only, not GPU fine-tuning";
  }
  ASSERT_EQ(g.status, 0) << g.output;
  Ran c = run_shell(bin() + finetune_args(cpu) + " max_steps=30 log_every=1");
  ASSERT_EQ(c.status, 0) << c.output;
  const auto lc = losses(cpu), lg = losses(gpu);
  ASSERT_EQ(lc.size(), 30u);
  ASSERT_EQ(lg.size(), lc.size());
  EXPECT_NEAR(lg[0], lc[0], 1e-5 * std::fabs(lc[0])) << "step 1: same weights, same batch";
  for (size_t i = 1; i < lc.size(); ++i) EXPECT_NEAR(lg[i], lc[i], 1e-3 * std::fabs(lc[i])) << "step " << i + 1;
  double auc[2];
  for (int k = 0; k < 2; ++k) {
    const std::string out = path(k ? "det_gpu" : "det_cpu");
    Ran d = run_shell(bin() + " detect data_dir=" + path("data") + " split=test detector_checkpoint=" + cpu +
                      " run_dir=" + out + (k ? " device=cuda" : ""));
    ASSERT_EQ(d.status, 0) << d.output;
    auc[k] = read_json(out + "/detection.json")["event"]["overall"]["roc_auc"].get<double>();
  }
  EXPECT_NEAR(auc[1], auc[0], 1e-3) << "the same detector scored on the GPU and on the CPU";
}

}  // namespace
}  // namespace seqmend
