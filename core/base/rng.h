// Counter-based random numbers. A draw is a pure function of (seed, stream, counter), so dropout
// masks can be regenerated in backward instead of stored, and a sample gets the same noise whichever
// rank or batch row it lands in — which is what makes 1-rank and N-rank runs agree.
#pragma once

#include <cstdint>

namespace seqmend {

// SplitMix64 finaliser: a bijective 64-bit mix with full avalanche.
inline constexpr uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline constexpr uint64_t hash_combine(uint64_t a, uint64_t b) { return mix64(a ^ mix64(b)); }

// Uniform float in [0, 1) from the top 24 bits of a hash.
inline constexpr float uniform01(uint64_t h) { return float(h >> 40) * (1.0f / 16777216.0f); }

// A sequential generator for host-side sampling (data order, masking, simulation) with the same
// counter discipline: state is (key, counter), so it can be saved and restored exactly.
struct Rng {
  uint64_t key = 0;
  uint64_t counter = 0;

  Rng() = default;
  explicit Rng(uint64_t seed, uint64_t stream = 0) : key(hash_combine(seed, stream)) {}

  uint64_t next_u64() { return mix64(key ^ mix64(counter++)); }
  float uniform() { return uniform01(next_u64()); }
  double uniform_double() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
  // Uniform integer in [0, n) without modulo bias worth caring about for n < 2^32 (Lemire).
  uint64_t below(uint64_t n) {
    return uint64_t((static_cast<unsigned __int128>(next_u64()) * n) >> 64);
  }
};

}  // namespace seqmend
