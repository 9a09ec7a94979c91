// Results computed in shares: each rank fills the positions it owns and leaves zeros elsewhere;
// merging makes the whole array on every rank, bit for bit what one rank alone computes.
//
// The merge sums the values' bit patterns as integers: a sum of one nonzero pattern and zeros is
// that pattern exactly (a floating-point sum would turn −0 into +0 and is not what we want to rely
// on for NaN payloads either), so scores written from it are byte-identical for 1 and N ranks.
#pragma once

#include <cstdint>
#include <vector>

namespace seqmend {

class DataParallelGroup;

// Collective: every rank passes an array of the same length, each position nonzero (or owned) on
// at most one rank.
void merge_owned(DataParallelGroup& group, std::vector<float>& values);

// Whether batch `index` of a sequence of batches is this rank's: round-robin, so a rank's batches
// are the ones one process would form, and their results the same bits. Null group = all.
bool owns_batch(const DataParallelGroup* group, int64_t index);

}  // namespace seqmend
