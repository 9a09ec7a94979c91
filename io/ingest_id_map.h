// Interns original ids (integers or string tokens) to dense indices 0, 1, 2, … in order of first
// appearance, filling an IdVocab as it goes. Ingest does two lookups per row, so the integer path is
// built for speed: ids in [0, 2^25) (nearly every real log) index a flat array directly, which stays
// in cache where a hash table of the same ids does not (a random hash probe was a quarter of the
// whole ingest time); other ids go to an open-addressing table with linear probing, which avoids
// std::unordered_map's per-node allocation and pointer chasing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/error.h"
#include "io/event_table.h"

namespace seqmend {

class IdInterner {
 public:
  explicit IdInterner(IdVocab& vocab, bool tokens) : vocab_(vocab) {
    vocab_.is_token = tokens;
    rehash(1 << 12);
  }

  // Dense index of numeric id `key`, assigning the next one on first sight.
  int32_t intern(int64_t key) {
    SEQ_CHECK(!vocab_.is_token, "IdInterner: integer id ", key, " given to a token vocabulary");
    if (uint64_t(key) < kDirectLimit) [[likely]] {
      if (uint64_t(key) >= direct_.size()) grow_direct(uint64_t(key));
      int32_t& slot = direct_[size_t(key)];
      if (slot < 0) {
        slot = int32_t(vocab_.numeric.size());
        vocab_.numeric.push_back(key);
      }
      return slot;
    }
    return intern_hashed(key);
  }

  // Dense index of string token `key`.
  int32_t intern(std::string_view key) {
    SEQ_CHECK(vocab_.is_token, "IdInterner: token '", key, "' given to an integer vocabulary");
    auto it = token_index_.find(key);
    if (it != token_index_.end()) return it->second;
    int32_t idx = int32_t(vocab_.tokens.size());
    vocab_.tokens.emplace_back(key);
    token_index_.emplace(vocab_.tokens.back(), idx);
    return idx;
  }

 private:
  static constexpr uint64_t kDirectLimit = uint64_t(1) << 25;  // 128 MB of int32 at most

  void grow_direct(uint64_t key) {
    size_t n = std::max<size_t>(4096, direct_.size());
    while (n <= key) n *= 2;
    direct_.resize(std::min<size_t>(n, kDirectLimit), -1);
  }

  int32_t intern_hashed(int64_t key) {
    uint64_t h = mix(uint64_t(key)) & mask_;
    for (;;) {
      Slot& s = slots_[h];
      if (s.index < 0) {
        int32_t idx = int32_t(vocab_.numeric.size());
        vocab_.numeric.push_back(key);
        s.key = key;
        s.index = idx;
        if (++hashed_ * 2 > slots_.size()) rehash(slots_.size() * 2);
        return idx;
      }
      if (s.key == key) return s.index;
      h = (h + 1) & mask_;
    }
  }

  struct Slot {
    int64_t key = 0;
    int32_t index = -1;  // -1 = empty
  };
  struct SvHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // splitmix64 finaliser: sequential ids (the usual case) must not land in sequential slots.
  static uint64_t mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
  }

  void rehash(size_t capacity) {
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (size_t i = 0; i < vocab_.numeric.size(); ++i) {
      if (uint64_t(vocab_.numeric[i]) < kDirectLimit) continue;  // lives in direct_
      uint64_t h = mix(uint64_t(vocab_.numeric[i])) & mask_;
      while (slots_[h].index >= 0) h = (h + 1) & mask_;
      slots_[h] = Slot{vocab_.numeric[i], int32_t(i)};
    }
  }

  IdVocab& vocab_;
  std::vector<int32_t> direct_;  // (max id + 1) dense index of id, -1 = unseen
  std::vector<Slot> slots_;
  size_t hashed_ = 0;  // ids stored in slots_
  uint64_t mask_ = 0;
  std::unordered_map<std::string, int32_t, SvHash, std::equal_to<>> token_index_;
};

}  // namespace seqmend
