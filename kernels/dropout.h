// Inverted dropout whose mask is regenerated, not stored: element (n, c) is kept iff
// uniform01(hash(seed, token_keys[n], c)) >= p. token_keys identify a token by (sample, position),
// so a sample is masked the same way whichever rank or batch row holds it.
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace seqmend {

struct DropoutSpec {
  float p = 0.0f;      // drop probability; 0 disables
  uint64_t seed = 0;   // differs per step and per dropout site
};

// Whether element (token_key, c) survives; the single definition both backends and the tests use.
bool dropout_keep(const DropoutSpec& d, uint64_t token_key, uint64_t c);

// out (N, C) = inp · keep / (1 − p). out may alias inp.
void dropout_forward(Device dev, float* out, const float* inp, const uint64_t* token_keys, int64_t N,
                     int C, const DropoutSpec& d);
// Accumulates dinp (N, C) += dout · keep / (1 − p).
void dropout_backward(Device dev, float* dinp, const float* dout, const uint64_t* token_keys,
                      int64_t N, int C, const DropoutSpec& d);

}  // namespace seqmend
