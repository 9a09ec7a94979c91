// Which dropout seed each site of the model uses. A step draws one step seed; every site derives its
// own from it, so masks at different sites are independent and reproducible from (step seed, site).
#pragma once

#include <cstdint>

#include "core/base/rng.h"
#include "kernels/dropout.h"

namespace seqmend {

// Site numbers: 0 is the embedding; block l owns 1 + 3l (attention probabilities), 2 + 3l (after
// the attention projection) and 3 + 3l (after the FFN projection).
inline constexpr uint64_t kSiteEmbedding = 0;
inline constexpr uint64_t site_attention(int layer) { return 1 + 3 * uint64_t(layer); }
inline constexpr uint64_t site_attention_out(int layer) { return 2 + 3 * uint64_t(layer); }
inline constexpr uint64_t site_ffn_out(int layer) { return 3 + 3 * uint64_t(layer); }

// p = 0 when not training, so evaluation runs the same code with dropout off.
inline DropoutSpec dropout_site(float p, bool train, uint64_t step_seed, uint64_t site) {
  return DropoutSpec{train ? p : 0.0f, hash_combine(step_seed, site)};
}

}  // namespace seqmend
