// Activation buffers are allocated once and reused across steps; they only grow (never shrink) when
// a batch has more tokens than any before, so steady-state training allocates nothing.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace seqmend {

// A reusable (rows, cols) buffer: `t` is the view of the current rows, `cap` the allocated rows.
struct Activation {
  Tensor base;  // (cap · cols) storage
  Tensor t;     // (rows, cols) current view
  int64_t cap = 0;

  // Makes t a (rows, cols) view, growing the storage by 1.25× headroom when it is too small (new
  // storage, too, for another dtype).
  void ensure(int64_t rows, int64_t cols, DType dtype = DType::F32, Device dev = Device::CPU) {
    if (!base.defined() || rows * cols > base.numel() || base.dtype() != dtype) {
      cap = rows + rows / 4 + 1;
      base = Tensor::empty({cap * cols}, dtype, dev);
    }
    t = Tensor::view_of(base, 0, {rows, cols});
  }
  float* f() const { return t.data<float>(); }
};

}  // namespace seqmend
