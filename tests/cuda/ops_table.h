// The ops table's harness (tests/cuda/ops_table_test.cpp): the memory a row runs in on one device,
// poisoned outputs and random gradients included, and the row itself. The rows are in
// ops_table_rows.cpp.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "core/base/rng.h"
#include "kernels/bf16.h"
#include "kernels/device.h"

#ifdef SEQMEND_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace seqmend::ops_table {

// Memory for one run of one row on one device. Inputs are drawn from an Rng seeded the same way
// for every device, so both runs see the same values as long as the row asks in the same order.
class Mem {
 public:
  Mem(Device dev, uint64_t seed) : dev_(dev), rng_(seed, 7) {}
  ~Mem() {
    for (void* p : owned_) release(p);
  }
  Mem(const Mem&) = delete;
  Mem& operator=(const Mem&) = delete;

  Device dev() const { return dev_; }
  Rng& rng() { return rng_; }

  // Uniform in [lo, hi), never exactly 0 (a zero input hides sign and scale bugs).
  float* in(int64_t n, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> h(static_cast<size_t>(n));
    for (auto& x : h) {
      do {
        x = lo + (hi - lo) * rng_.uniform();
      } while (x == 0.0f);
    }
    return upload(h);
  }
  // Accumulated into by a backward op: random start values.
  float* grad(int64_t n) { return in(n, -0.5f, 0.5f); }
  // bf16 versions: the same draws, rounded to bf16; the poison is a bf16 NaN.
  bf16* in_bf16(int64_t n, float lo = -1.0f, float hi = 1.0f) {
    std::vector<bf16> h(static_cast<size_t>(n));
    for (auto& x : h) {
      do {
        x = to_bf16(lo + (hi - lo) * rng_.uniform());
      } while (to_float(x) == 0.0f);
    }
    return upload(h);
  }
  bf16* out_bf16(int64_t n) { return upload(std::vector<bf16>(size_t(n), bf16{0x7fc0})); }
  // Written by a forward op: NaN until the op writes it.
  float* out(int64_t n) {
    return upload(std::vector<float>(size_t(n), std::numeric_limits<float>::quiet_NaN()));
  }
  int32_t* ids(int64_t n, int64_t lo, int64_t hi) {  // in [lo, hi)
    std::vector<int32_t> h(static_cast<size_t>(n));
    for (auto& x : h) x = int32_t(lo + int64_t(rng_.below(uint64_t(hi - lo))));
    return upload(h);
  }
  uint64_t* keys(int64_t n) {
    std::vector<uint64_t> h(static_cast<size_t>(n));
    for (auto& x : h) x = rng_.next_u64();
    return upload(h);
  }
  template <typename T>
  T* upload(const std::vector<T>& h) {
    const size_t bytes = std::max<size_t>(1, h.size()) * sizeof(T);
    void* p = nullptr;
    if (dev_ == Device::CPU) {
      p = std::malloc(bytes);
      if (!h.empty()) std::memcpy(p, h.data(), h.size() * sizeof(T));
    } else {
#ifdef SEQMEND_WITH_CUDA
      EXPECT_EQ(cudaMalloc(&p, bytes), cudaSuccess);
      if (!h.empty()) {
        EXPECT_EQ(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
      }
#endif
    }
    owned_.push_back(p);
    return static_cast<T*>(p);
  }

  // Registers an output to compare (read back after the row has run).
  void result(const std::string& name, const float* p, int64_t n) { results_.push_back({name, p, n, {}}); }
  void result(const std::string& name, const bf16* p, int64_t n) {
    results_.push_back({name, reinterpret_cast<const float*>(p), n, {}, true});
  }
  void scalar(const std::string& name, double v) { scalars_.push_back({name, v}); }

  struct Result {
    std::string name;
    const float* ptr;  // bf16 data when is_bf16 (widened to f32 when fetched)
    int64_t n;
    std::vector<float> host;
    bool is_bf16 = false;
  };
  std::vector<Result>& fetch() {
    for (auto& r : results_) {
      const size_t bytes = size_t(r.n) * (r.is_bf16 ? sizeof(bf16) : sizeof(float));
      std::vector<char> raw(bytes);
      if (dev_ == Device::CPU) {
        std::memcpy(raw.data(), r.ptr, bytes);
      } else {
#ifdef SEQMEND_WITH_CUDA
        EXPECT_EQ(cudaMemcpy(raw.data(), r.ptr, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
#endif
      }
      r.host.resize(size_t(r.n));
      if (r.is_bf16)
        r.host = to_float(reinterpret_cast<const bf16*>(raw.data()), r.n);
      else
        std::memcpy(r.host.data(), raw.data(), bytes);
    }
    return results_;
  }
  const std::vector<std::pair<std::string, double>>& scalars() const { return scalars_; }

 private:
  void release(void* p) {
    if (dev_ == Device::CPU) {
      std::free(p);
    } else {
#ifdef SEQMEND_WITH_CUDA
      cudaFree(p);
#endif
    }
  }
  Device dev_;
  Rng rng_;
  std::vector<void*> owned_;
  std::vector<Result> results_;
  std::vector<std::pair<std::string, double>> scalars_;
};

struct Row {
  std::string name;  // op and shape, a valid test-name suffix
  std::function<void(Mem&)> run;
  double tol = 1e-5;          // worst |cuda − cpu| / max(|cpu|, mean |cpu|) over the elements
  bool needs_cudnn = false;  // AttentionBackend::cudnn: skipped, with the reason, where it cannot run
  double norm_tol = 0.0;     // when set: also ‖cuda − cpu‖₂ / ‖cpu‖₂, printed for every run
};

// gtest would otherwise print each row as raw bytes in test listings.
inline void PrintTo(const Row& r, std::ostream* os) { *os << r.name; }

// Every row, each op at several shapes (an op is covered when it has rows here).
std::vector<Row> make_table();

}  // namespace seqmend::ops_table
