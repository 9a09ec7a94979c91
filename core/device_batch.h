// Where the model's ops read a Batch's integer arrays: on the CPU the Batch's own vectors, on CUDA
// device copies uploaded once per forward into buffers that only grow (so steady-state training
// allocates nothing). The host Batch stays the source of truth: its sizes, cu_seqlens (attention
// reads those on the host) and the row lists the model checks before any upload.
#pragma once

#include <cstdint>
#include <vector>

#include "core/batch.h"
#include "core/tensor.h"

namespace seqmend {

struct BatchArrays {
  const int32_t* item = nullptr;
  const int32_t* position = nullptr;
  const int32_t* action = nullptr;
  const int32_t* gap = nullptr;
  const uint64_t* token_keys = nullptr;
  const int32_t* target_items = nullptr;
};

class DeviceBatch {
 public:
  // Valid until the next upload, and only while `b` is unchanged on the CPU (pointers into it).
  const BatchArrays& upload(const Batch& b, Device dev);
  const BatchArrays& arrays() const { return a_; }

  // A row list where the ops read it (the vector itself on the CPU); valid until the next call.
  const int64_t* rows(const std::vector<int64_t>& rows, Device dev);

 private:
  Tensor item_, position_, action_, gap_, keys_, targets_, rows_;
  BatchArrays a_;
};

}  // namespace seqmend
