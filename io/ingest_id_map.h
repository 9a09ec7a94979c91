// Interns original ids (integers or string tokens) to dense indices 0, 1, 2, … in order of first
// appearance, filling an IdVocab as it goes. The integer path is an open-addressing table with linear
// probing: ingest does two lookups per row, and std::unordered_map's node allocation and pointer
// chasing cost about three times as much per lookup on tens of millions of rows.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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
    uint64_t h = mix(uint64_t(key)) & mask_;
    for (;;) {
      Slot& s = slots_[h];
      if (s.index < 0) {
        int32_t idx = int32_t(vocab_.numeric.size());
        vocab_.numeric.push_back(key);
        s.key = key;
        s.index = idx;
        if (vocab_.numeric.size() * 2 > slots_.size()) rehash(slots_.size() * 2);
        return idx;
      }
      if (s.key == key) return s.index;
      h = (h + 1) & mask_;
    }
  }

  // Dense index of string token `key`.
  int32_t intern(std::string_view key) {
    auto it = token_index_.find(key);
    if (it != token_index_.end()) return it->second;
    int32_t idx = int32_t(vocab_.tokens.size());
    vocab_.tokens.emplace_back(key);
    token_index_.emplace(vocab_.tokens.back(), idx);
    return idx;
  }

 private:
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
      uint64_t h = mix(uint64_t(vocab_.numeric[i])) & mask_;
      while (slots_[h].index >= 0) h = (h + 1) & mask_;
      slots_[h] = Slot{vocab_.numeric[i], int32_t(i)};
    }
  }

  IdVocab& vocab_;
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  std::unordered_map<std::string, int32_t, SvHash, std::equal_to<>> token_index_;
};

}  // namespace seqmend
