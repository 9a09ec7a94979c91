#include "core/param_buffer.h"

#include <cmath>
#include <numbers>

#include "core/base/rng.h"

namespace seqmend {

void ParamBuffer::add(const std::string& name, Shape shape, ParamInit init, bool decay) {
  SEQ_CHECK(!allocated(), "param_buffer: add(\"", name, "\") after allocate()");
  SEQ_CHECK(!index_.count(name), "param_buffer: duplicate parameter name \"", name, "\"");
  ParamEntry e;
  e.name = name;
  e.numel = 1;
  for (int64_t d : shape) {
    SEQ_CHECK(d > 0, "param_buffer: parameter \"", name, "\" has shape ", shape_str(shape));
    e.numel *= d;
  }
  e.shape = std::move(shape);
  e.offset = total_;
  e.init = init;
  e.decay = decay;
  total_ += (e.numel + 15) / 16 * 16;
  index_[name] = entries_.size();
  entries_.push_back(std::move(e));
}

void ParamBuffer::allocate(Device dev) {
  SEQ_CHECK(!allocated(), "param_buffer: allocate() called twice");
  dev_ = dev;
  params_ = Tensor::zeros({total_}, DType::F32, dev);
  grads_ = Tensor::zeros({total_}, DType::F32, dev);
}

Tensor& ParamBuffer::adam_m() {
  if (!m_.defined()) m_ = Tensor::zeros({total_}, DType::F32, dev_);
  return m_;
}

Tensor& ParamBuffer::adam_v() {
  if (!v_.defined()) v_ = Tensor::zeros({total_}, DType::F32, dev_);
  return v_;
}

const ParamEntry& ParamBuffer::entry(const std::string& name) const {
  auto it = index_.find(name);
  SEQ_CHECK(it != index_.end(), "param_buffer: no parameter named \"", name, "\"");
  return entries_[it->second];
}

Tensor ParamBuffer::view(const Tensor& flat, const std::string& name) const {
  SEQ_CHECK(flat.defined(), "param_buffer: \"", name, "\" requested before allocate()");
  const ParamEntry& e = entry(name);
  return Tensor::view_of(flat, e.offset, e.shape);
}

double normal_at(uint64_t key, uint64_t j) {
  uint64_t a = mix64(key ^ mix64(2 * j));
  uint64_t b = mix64(key ^ mix64(2 * j + 1));
  double u1 = double((a >> 11) + 1) * (1.0 / 9007199254740992.0);  // (0, 1]: log is finite
  double u2 = double(b >> 11) * (1.0 / 9007199254740992.0);        // [0, 1)
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

void ParamBuffer::init(uint64_t seed, float std) {
  SEQ_CHECK(allocated(), "param_buffer: init() before allocate()");
  // Initialise on the host (and copy for CUDA), so CPU and CUDA runs start from identical weights.
  Tensor host = dev_ == Device::CPU ? params_ : Tensor::zeros({total_});
  float* p = host.data<float>();
  for (size_t k = 0; k < entries_.size(); ++k) {
    const ParamEntry& e = entries_[k];
    float* w = p + e.offset;
    uint64_t key = hash_combine(seed, k);
    for (int64_t j = 0; j < e.numel; ++j) {
      switch (e.init) {
        case ParamInit::Normal: w[j] = float(std * normal_at(key, uint64_t(j))); break;
        case ParamInit::Zeros: w[j] = 0.0f; break;
        case ParamInit::Ones: w[j] = 1.0f; break;
      }
    }
  }
  if (dev_ != Device::CPU) params_ = host.to(dev_);
}

}  // namespace seqmend
