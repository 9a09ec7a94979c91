// seqmend against its PyTorch twin (tools/torch_twin.py, float64): the same config, sequences, cloze
// masking, initial weights and dropout masks must give the same batch, eval logits at the target
// rows, training loss, every gradient, and the losses of the first 10 AdamW steps. The fixture is
// committed, so this test needs no Python; regenerate it with `/usr/bin/python3 tools/torch_twin.py`.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/model.h"
#include "core/train_step.h"

namespace seqmend {
namespace {

using nlohmann::json;

json load_fixture() {
  const std::string path = std::string(SEQMEND_SOURCE_DIR) + "/tests/core/fixtures/torch_twin.json";
  std::ifstream f(path);
  SEQ_CHECK(f.good(), "torch agreement: cannot open ", path);
  return json::parse(f);
}

ModelConfig config_of(const json& j) {
  ModelConfig c;
  c.num_items = j["num_items"];
  c.max_len = j["max_len"];
  c.d_model = j["d_model"];
  c.num_layers = j["num_layers"];
  c.num_heads = j["num_heads"];
  c.emb_dropout = j["emb_dropout"];
  c.hidden_dropout = j["hidden_dropout"];
  c.attn_dropout = j["attn_dropout"];
  c.num_actions = j["num_actions"];
  c.num_gap_buckets = j["num_gap_buckets"];
  c.layernorm_eps = j["layernorm_eps"];
  c.init_std = j["init_std"];
  c.objective = j["objective"];
  c.seed = j["seed"];
  return c;
}

// max |a − b| / max |b| over a tensor: "relative error" of the whole tensor, so elements that are
// tiny only because of cancellation do not dominate.
template <typename A>
double rel_error(const A& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num = std::max(num, std::fabs(double(a[i]) - b[i]));
    den = std::max(den, std::fabs(b[i]));
  }
  return den > 0 ? num / den : num;
}

struct Twin {
  json fx = load_fixture();
  ModelConfig cfg = config_of(fx["config"]);
  std::vector<std::vector<int32_t>> items;
  std::vector<std::vector<int64_t>> ts;
  std::vector<std::vector<int8_t>> act;
  std::vector<SequenceView> views;
  Batch batch;

  Twin() {
    for (const json& s : fx["sequences"]) {
      items.push_back(s["items"].get<std::vector<int32_t>>());
      ts.push_back(s["timestamps"].get<std::vector<int64_t>>());
      std::vector<int8_t> a;
      for (int v : s["actions"]) a.push_back(int8_t(v));
      act.push_back(a);
    }
    for (size_t i = 0; i < items.size(); ++i)
      views.push_back({items[i], ts[i], act[i], fx["sequences"][i]["sample_id"].get<int64_t>()});
    ClozeOptions co;
    co.mask_prob = fx["cloze"]["mask_prob"];
    co.seed = fx["cloze"]["seed"];
    co.epoch = fx["cloze"]["epoch"];
    batch = make_cloze_batch(views, cfg, co);
  }

  void load_init(ItemTransformer& m) const {
    for (const ParamEntry& e : m.params().entries()) {
      std::vector<float> w = fx["init"][e.name].get<std::vector<float>>();
      SEQ_CHECK(int64_t(w.size()) == e.numel, "fixture init ", e.name, " has ", w.size(), " values");
      std::copy(w.begin(), w.end(), m.params().param_ptr(e.name));
    }
  }
};

TEST(TorchAgreement, BatchAndInitMatchTheTwin) {
  Twin t;
  const json& fb = t.fx["batch"];
  EXPECT_EQ(t.batch.cu_seqlens, fb["cu_seqlens"].get<std::vector<int64_t>>());
  EXPECT_EQ(t.batch.item, fb["item"].get<std::vector<int32_t>>());
  EXPECT_EQ(t.batch.position, fb["position"].get<std::vector<int32_t>>());
  EXPECT_EQ(t.batch.action, fb["action"].get<std::vector<int32_t>>());
  EXPECT_EQ(t.batch.gap, fb["gap"].get<std::vector<int32_t>>());
  EXPECT_EQ(t.batch.target_rows, fb["target_rows"].get<std::vector<int64_t>>());
  EXPECT_EQ(t.batch.target_items, fb["target_items"].get<std::vector<int32_t>>());
  std::vector<uint64_t> keys;
  for (const json& k : fb["token_keys"]) keys.push_back(std::stoull(k.get<std::string>()));
  EXPECT_EQ(t.batch.token_keys, keys);

  // The counter-RNG init is reproduced in numpy; libm and numpy may differ in the last ulp of
  // log/cos, hence a tolerance of a few float ulps rather than bit equality.
  ItemTransformer m(t.cfg);
  for (const ParamEntry& e : m.params().entries()) {
    std::vector<double> want = t.fx["init"][e.name].get<std::vector<double>>();
    const float* got = m.params().param_ptr(e.name);
    EXPECT_LT(rel_error(got, want), 1e-6) << e.name;
  }
}

TEST(TorchAgreement, EvalLogitsLossAndEveryGradient) {
  Twin t;
  ItemTransformer m(t.cfg);
  t.load_init(m);
  const int C = t.cfg.d_model;
  const int64_t V = t.cfg.num_items, M = t.batch.M();

  // Eval logits at the target rows: hidden states (dropout off) through the tied output layer.
  Tensor h = m.hidden_at(t.batch, t.batch.target_rows);
  const float* E = m.params().param_ptr("emb.item");
  const float* bias = m.params().param_ptr("out.bias");
  std::vector<double> logits;
  for (int64_t r = 0; r < M; ++r)
    for (int64_t v = 1; v <= V; ++v) {
      double s = bias[v];
      for (int c = 0; c < C; ++c) s += double(h.data<float>()[r * C + c]) * E[v * C + c];
      logits.push_back(s);
    }
  std::vector<double> want_logits = t.fx["eval_logits"].get<std::vector<double>>();
  ASSERT_EQ(logits.size(), want_logits.size());
  EXPECT_LT(rel_error(logits, want_logits), 1e-4) << "eval logits";
  std::printf("eval logits rel error %.2e\n", rel_error(logits, want_logits));

  m.params().zero_grads();
  ForwardOptions fo;
  fo.dropout_seed = step_dropout_seed(t.fx["optimizer"]["run_seed"].get<uint64_t>(), 0);
  const double loss = m.forward(t.batch, fo);
  m.backward(t.batch);
  const double want_loss = t.fx["loss0"];
  EXPECT_LT(std::fabs(loss - want_loss) / want_loss, 1e-5) << loss << " vs " << want_loss;
  double worst = 0;
  std::string worst_name;
  for (const ParamEntry& e : m.params().entries()) {
    std::vector<double> want = t.fx["grads"][e.name].get<std::vector<double>>();
    ASSERT_EQ(int64_t(want.size()), e.numel) << e.name;
    double err = rel_error(m.params().grad_ptr(e.name), want);
    EXPECT_LT(err, 1e-4) << "gradient of " << e.name;
    if (err > worst) worst = err, worst_name = e.name;
  }
  std::printf("loss rel error %.2e, worst gradient rel error %.2e (%s)\n",
              std::fabs(loss - want_loss) / want_loss, worst, worst_name.c_str());
}

TEST(TorchAgreement, FirstTenAdamWStepLosses) {
  Twin t;
  ItemTransformer m(t.cfg);
  t.load_init(m);
  const json& o = t.fx["optimizer"];
  OptimizerConfig oc;
  oc.lr = o["lr"];
  oc.beta1 = o["beta1"];
  oc.beta2 = o["beta2"];
  oc.eps = o["eps"];
  oc.weight_decay = o["weight_decay"];
  oc.clip_norm = o["clip_norm"];
  oc.schedule = o["schedule"];
  oc.warmup_steps = o["warmup_steps"];
  oc.total_steps = o["total_steps"];
  oc.min_lr = o["min_lr"];
  AdamWOptimizer opt(m.params(), oc);
  std::vector<double> want = t.fx["losses"].get<std::vector<double>>();
  ASSERT_EQ(want.size(), size_t(o["steps"].get<int>()));
  double worst = 0;
  for (size_t s = 0; s < want.size(); ++s) {
    ClozeStepResult r = train_step(m, opt, t.batch, int64_t(s), o["run_seed"].get<uint64_t>());
    worst = std::max(worst, std::fabs(r.loss - want[s]) / want[s]);
    EXPECT_LT(std::fabs(r.loss - want[s]) / want[s], 1e-4) << "step " << s << ": " << r.loss << " vs " << want[s];
  }
  std::printf("10-step losses %.4f .. %.4f, worst rel error %.2e\n", want.front(), want.back(), worst);
  EXPECT_LT(want.back(), want.front() - 0.5) << "the fixture should show training progress";
}

}  // namespace
}  // namespace seqmend
