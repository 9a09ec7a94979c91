// ranks.csv: the valid and test rank of every user's target under one trained recommender, the
// input of evaluate's paired comparison (user_bootstrap.h) and of any finer look at who gained and
// who lost. evaluate writes it last, so a training directory that holds it is finished, and reads
// it back when a stopped evaluation resumes.
//
//   user,valid_rank,test_rank
//   0,12,3
//   5,,40          <- a user with no valid target
#pragma once

#include <string>
#include <vector>

#include "experiments/eval/rec_eval.h"

namespace seqmend {

struct UserRanks {
  std::vector<UserRank> valid, test;  // each sorted by user, as RecEvaluator::all_ranks gives them
};

// Atomic (io/atomic_file.h): rows sorted by user, an empty cell where a user has no rank.
void write_rank_file(const std::string& path, const UserRanks& ranks);

// Throws seqmend::Error naming the file when it is missing or has no header, and file:line for a
// row that is not three comma-separated fields of integers and blanks.
UserRanks read_rank_file(const std::string& path);

}  // namespace seqmend
