#include "core/detector.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"
#include "kernels/focal_loss.h"

#if __has_include("io/config_impl.h")
#include "io/config.h"
#endif

namespace seqmend {

#if __has_include("io/config_impl.h")
void DetectorHeadsConfig::visit(ConfigVisitor& v) {
  v.field("hidden", hidden, "hidden width of each head's MLP; 0 = linear heads", 0, 1 << 16);
  v.field("init_std", init_std, "std of the normal initialisation of head weights", 1e-6, 10.0);
  v.field("seed", seed, "head parameter initialisation seed");
}

void DetectorConfig::visit(ConfigVisitor& v) {
  v.section("heads", heads, "the three detector heads");
  v.field("focal_alpha", focal_alpha, "focal loss alpha (weight of positives; < 0 disables)", -1.0, 1.0);
  v.field("focal_gamma", focal_gamma, "focal loss gamma (0 = plain BCE)", 0.0, 10.0);
  v.field("event_weight", event_weight, "loss weight of the per-event anomaly head", 0.0, 1e6);
  v.field("gap_weight", gap_weight, "loss weight of the per-event gap head", 0.0, 1e6);
  v.field("sequence_weight", sequence_weight, "loss weight of the per-sequence bot head", 0.0, 1e6);
  v.field("freeze_encoder", freeze_encoder, "train the heads only (the encoder stays as pretrained)");
}
#endif

static double sum_of(const std::vector<float>& w) {
  double s = 0;
  for (float x : w) s += x;
  return s;
}
double DetectorTargets::event_count() const { return sum_of(event_w); }
double DetectorTargets::gap_count() const { return sum_of(gap_w); }
double DetectorTargets::seq_count() const { return sum_of(seq_w); }

DetectorTargets detector_targets(const Batch& b, const SequenceSet& set, const std::vector<int64_t>& seqs) {
  SEQ_CHECK(int64_t(seqs.size()) == b.B, "detector_targets: ", seqs.size(), " sequences for a batch of B=",
            b.B);
  DetectorTargets y;
  y.event_y.assign(size_t(b.N), 0.0f);
  y.event_w.assign(size_t(b.N), 0.0f);
  y.gap_y.assign(size_t(b.N), 0.0f);
  y.gap_w.assign(size_t(b.N), 0.0f);
  y.seq_y.assign(size_t(b.B), 0.0f);
  y.seq_w.assign(size_t(b.B), 0.0f);
  for (int64_t s = 0; s < b.B; ++s) {
    const int64_t q = seqs[size_t(s)];
    SEQ_CHECK(q >= 0 && q < set.num_sequences(), "detector_targets: sequence ", q, " of a set of ",
              set.num_sequences());
    const int64_t n = b.seq_len(s), len = set.length(q);
    SEQ_CHECK(n <= len, "detector_targets: batch sequence ", s, " has ", n, " tokens, set sequence ", q,
              " only ", len, " events");
    if (!set.seq_label.empty()) {
      const int code = set.seq_label[size_t(q)];
      if (code == kLabelClean || code >= kLabelBotUniform) {
        y.seq_w[size_t(s)] = 1.0f;
        y.seq_y[size_t(s)] = code >= kLabelBotUniform ? 1.0f : 0.0f;
      }
    }
    if (!set.has_labels()) continue;
    const int64_t first_event = set.offsets[size_t(q)] + (len - n);  // truncation keeps the newest
    for (int64_t j = 0; j < n; ++j) {
      const size_t t = size_t(b.cu_seqlens[size_t(s)] + j);
      const int code = set.label[size_t(first_event + j)];
      if (code >= kLabelBotUniform) continue;  // bot events: the sequence head's business
      y.event_w[t] = 1.0f;
      y.event_y[t] = (code == kLabelNoiseClick || code == kLabelSubstitution || code == kLabelBurstRepeat);
      y.gap_w[t] = 1.0f;
      y.gap_y[t] = code == kLabelGapAfter;
    }
  }
  return y;
}

Detector::Detector(const ModelConfig& model, const DetectorConfig& cfg, Device dev)
    : cfg_(cfg), encoder_(model, dev), heads_(cfg.heads, model.d_model, dev) {}

// y and w where the focal loss reads them (device pointers on CUDA).
static double head_loss(Device dev, const float* logits, const float* y, const float* w, int64_t n, double denom,
                        double weight, float alpha, float gamma, float* dlogits) {
  if (n == 0) return 0.0;
  FocalArgs a;
  a.logits = logits;
  a.targets = y;
  a.weights = w;
  a.n = n;
  a.alpha = alpha;
  a.gamma = gamma;
  const double d = denom > 0 ? denom : 1.0;
  const double sum = sigmoid_focal_loss(dev, a, dlogits, float(weight / d));
  return sum / d;
}

DetectorLoss Detector::forward(const Batch& b, const DetectorTargets& y, const DetectorForward& opt) {
  SEQ_CHECK(int64_t(y.event_y.size()) == b.N && int64_t(y.seq_y.size()) == b.B,
            "Detector forward: targets for N=", y.event_y.size(), ", B=", y.seq_y.size(),
            " given a batch of N=", b.N, ", B=", b.B);
  SEQ_CHECK(y.event_w.size() == y.event_y.size() && y.gap_y.size() == y.event_y.size() &&
                y.gap_w.size() == y.event_y.size() && y.seq_w.size() == y.seq_y.size(),
            "Detector forward: targets and weights of different lengths");
  const Device dev = device();
  const bool enc_train = opt.train && !cfg_.freeze_encoder;
  H_ = encoder_.encode_hidden(b, enc_train, opt.dropout_seed).data<float>();
  heads_.forward(H_, b);
  have_grads_ = opt.need_grads;
  // The targets where the loss reads them: the host vectors themselves, or one upload of all six.
  const int64_t N = b.N, B = b.B;
  const float *ey = y.event_y.data(), *ew = y.event_w.data(), *gy = y.gap_y.data(), *gw = y.gap_w.data(),
              *sy = y.seq_y.data(), *sw = y.seq_w.data();
  if (dev != Device::CPU) {
    targets_.ensure(1, 4 * N + 2 * B + 1, DType::F32, dev);
    float* d = targets_.f();
    const float* host[6] = {ey, ew, gy, gw, sy, sw};
    const float** out[6] = {&ey, &ew, &gy, &gw, &sy, &sw};
    for (int k = 0; k < 6; ++k) {
      const int64_t n = k < 4 ? N : B;
      if (n > 0) copy_bytes(d, dev, host[k], Device::CPU, sizeof(float) * size_t(n));
      *out[k] = d;
      d += n;
    }
  }
  float *de = nullptr, *dg = nullptr, *ds = nullptr;
  if (opt.need_grads) {
    devent_.ensure(b.N, 1, DType::F32, dev);
    dgap_.ensure(b.N, 1, DType::F32, dev);
    dseq_.ensure(b.B, 1, DType::F32, dev);
    devent_.t.zero_();
    dgap_.t.zero_();
    dseq_.t.zero_();
    de = devent_.f();
    dg = dgap_.f();
    ds = dseq_.f();
  }
  const float alpha = float(cfg_.focal_alpha), gamma = float(cfg_.focal_gamma);
  auto denom = [](double given, double count) { return given > 0 ? given : count; };
  DetectorLoss L;
  L.event = head_loss(dev, heads_.event_logits(), ey, ew, N, denom(opt.event_denominator, y.event_count()),
                      cfg_.event_weight, alpha, gamma, de);
  L.gap = head_loss(dev, heads_.gap_logits(), gy, gw, N, denom(opt.gap_denominator, y.gap_count()),
                    cfg_.gap_weight, alpha, gamma, dg);
  L.sequence = head_loss(dev, heads_.seq_logits(), sy, sw, B, denom(opt.seq_denominator, y.seq_count()),
                         cfg_.sequence_weight, alpha, gamma, ds);
  L.total = cfg_.event_weight * L.event + cfg_.gap_weight * L.gap + cfg_.sequence_weight * L.sequence;
  SEQ_CHECK(std::isfinite(L.total), "Detector forward: non-finite loss (event ", L.event, ", gap ", L.gap,
            ", sequence ", L.sequence, ")");
  return L;
}

void Detector::backward(const Batch& b) {
  SEQ_CHECK(have_grads_, "Detector backward: needs a preceding forward with need_grads");
  have_grads_ = false;
  const int C = encoder_.config().d_model;
  dH_.ensure(b.N, C, DType::F32, device());
  dH_.t.zero_();
  heads_.backward(dH_.f(), b, devent_.f(), dgap_.f(), dseq_.f());
  if (!cfg_.freeze_encoder) encoder_.backward_from_hidden(b, dH_.f());
}

static void sigmoid_into(float* out, const float* logits, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = float(1.0 / (1.0 + std::exp(-double(logits[i]))));
}

void drop_top_negatives(std::span<const float> y, std::span<float> w, std::span<const float> p, double share) {
  SEQ_CHECK(y.size() == w.size() && y.size() == p.size(), "drop_top_negatives: ", y.size(), " targets, ", w.size(),
            " weights, ", p.size(), " probabilities");
  SEQ_CHECK(share >= 0 && share <= 1, "drop_top_negatives: share ", share, " is outside [0, 1]");
  std::vector<size_t> neg;
  for (size_t i = 0; i < y.size(); ++i)
    if (w[i] > 0 && y[i] == 0) neg.push_back(i);
  const size_t k = size_t(std::floor(share * double(neg.size())));
  if (k == 0) return;
  std::partial_sort(neg.begin(), neg.begin() + std::ptrdiff_t(k), neg.end(),
                    [&](size_t a, size_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
  for (size_t j = 0; j < k; ++j) w[neg[j]] = 0;
}

void Detector::score(const Batch& b, float* event_p, float* gap_p, float* seq_p) {
  have_grads_ = false;
  H_ = encoder_.encode_hidden(b, false, 0).data<float>();
  heads_.forward(H_, b);
  const Device dev = device();
  auto probs = [&](float* out, const float* logits, int64_t n) {
    if (!out || n == 0) return;
    if (dev != Device::CPU) {
      host_logits_.resize(size_t(n));
      copy_bytes(host_logits_.data(), Device::CPU, logits, dev, sizeof(float) * size_t(n));
      logits = host_logits_.data();
    }
    sigmoid_into(out, logits, n);
  };
  probs(event_p, heads_.event_logits(), b.N);
  probs(gap_p, heads_.gap_logits(), b.N);
  probs(seq_p, heads_.seq_logits(), b.B);
}

}  // namespace seqmend
