// A repair Predictor answered in shares over the ranks of a group: `seqmend repair` under mpirun.
//
// The queries are cut into chunks of kPredictorBatch (the batch a predictor forms from a query
// list, experiments/repair/repair.h), chunk k is answered by rank k mod W, and the answers are merged on
// every rank. Each chunk is the very batch one process would form, so the answers, and the repaired
// shards written from them, are the same bytes for any number of ranks.
#pragma once

#include "experiments/repair/repair.h"

namespace seqmend {

class DataParallelGroup;

// Collective: every rank of `group` must call the result with the same set and queries. `group`
// must outlive the predictor.
Predictor shared_predictor(Predictor inner, DataParallelGroup& group);

}  // namespace seqmend
