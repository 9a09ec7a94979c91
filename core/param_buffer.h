// Parameters, gradients and AdamW moments each live in ONE flat f32 buffer; every named parameter is
// a view into it at the same offset in all four. All-reduce, clipping, the optimizer and checkpoints
// then see a single contiguous buffer each, while layers see named, shaped tensors.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace seqmend {

enum class ParamInit { Normal, Zeros, Ones };

struct ParamEntry {
  std::string name;
  Shape shape;
  int64_t offset = 0;   // in floats, into every flat buffer; a multiple of 16 (64-byte aligned)
  int64_t numel = 0;
  ParamInit init = ParamInit::Normal;
  bool decay = true;    // AdamW weight decay applies (false for biases and LayerNorm)
};

class ParamBuffer {
 public:
  // Registration, before allocate(). Names must be unique.
  void add(const std::string& name, Shape shape, ParamInit init, bool decay);
  // Allocates params and grads (moments on demand) and zeroes them.
  void allocate(Device dev = Device::CPU);
  // Normal entries get N(0, std²), Zeros/Ones their constant. Element j of the k-th registered
  // parameter is a pure function of (seed, k, j): see normal_at.
  void init(uint64_t seed, float std);

  bool allocated() const { return params_.defined(); }
  int64_t numel() const { return total_; }  // includes the alignment gaps (always zero)
  const std::vector<ParamEntry>& entries() const { return entries_; }
  const ParamEntry& entry(const std::string& name) const;

  Tensor& params() { return params_; }    // (numel)
  Tensor& grads() { return grads_; }      // (numel)
  Tensor& adam_m();                       // (numel), allocated zero on first use
  Tensor& adam_v();                       // (numel)
  bool has_moments() const { return m_.defined(); }

  Tensor param(const std::string& name) const { return view(params_, name); }
  Tensor grad(const std::string& name) const { return view(grads_, name); }
  float* param_ptr(const std::string& name) const { return param(name).data<float>(); }
  float* grad_ptr(const std::string& name) const { return grad(name).data<float>(); }

  void zero_grads() { grads_.zero_(); }

  // Parameter `name` inside any flat buffer laid out like params() (e.g. a host copy of it).
  Tensor view(const Tensor& flat, const std::string& name) const;

 private:

  std::vector<ParamEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
  int64_t total_ = 0;
  Device dev_ = Device::CPU;
  Tensor params_, grads_, m_, v_;
};

// The k-th standard normal draw of stream `key` (Box–Muller on counters 2j and 2j + 1). Written so
// numpy can reproduce it exactly (tools/torch_twin.py does).
double normal_at(uint64_t key, uint64_t j);

}  // namespace seqmend
