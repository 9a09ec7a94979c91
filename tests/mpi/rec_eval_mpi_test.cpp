// Next-item evaluation over real ranks: every rank evaluates its own shards, and the metrics must
// be identical, bit for bit, to one process evaluating all shards (here: each rank again, alone, on
// MPI_COMM_SELF). Under `mpirun -np 2` that is the 1-vs-2-rank identity; alone it is a world of one.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "core/base/rng.h"
#include "core/model.h"
#include "distributed/mpi_communicator.h"
#include "experiments/eval/rec_eval.h"
#include "io/shard_set.h"

namespace seqmend {

namespace {

std::shared_ptr<ItemTransformer> rec_eval_mpi_test_model(int64_t num_items) {
  ModelConfig c;
  c.num_items = num_items;
  c.max_len = 12;
  c.d_model = 32;
  c.num_layers = 2;
  c.num_heads = 2;
  c.seed = 17;  // every rank initialises the same parameters
  return std::make_shared<ItemTransformer>(c);
}

// A directory every rank agrees on: rank 0 makes it, the others learn its name.
std::string shared_temp_dir(Communicator& comm) {
  char name[512] = {};
  if (comm.rank() == 0) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "seqmend_receval_mpi_XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) std::strncpy(name, tmpl.c_str(), sizeof(name) - 1);
  }
  comm.broadcast(name, sizeof(name), 0);
  return name;
}

TEST(RecEvalMpi, EveryWorldSizeReportsIdenticalMetrics) {
  MpiCommunicator world;
  MpiCommunicator alone(MPI_COMM_SELF);
  const std::string dir = shared_temp_dir(world);
  ASSERT_FALSE(dir.empty());
  const int64_t V = 150, users = 113;
  if (world.rank() == 0) {
    SequenceSet train, valid, test;
    Rng rng(99);
    for (int64_t u = 0; u < users; ++u) {
      const int64_t L = 3 + int64_t(rng.below(20));  // some longer than max_len
      std::vector<int32_t> items;
      for (int64_t i = 0; i < L; ++i) items.push_back(int32_t(1 + rng.below(uint64_t(V))));
      train.append(u, items.data(), L - 2);
      valid.append(u, items.data(), L - 1);
      test.append(u, items.data(), L);
    }
    ManifestInfo info;
    info.num_items = V;
    ShardOptions opt;
    opt.max_sequences_per_shard = 8;  // 15 shards: each rank gets several, batches stay within one
    opt.fsync = false;
    write_shard_set(dir + "/set", info, {{"train", train}, {"valid", valid}, {"test", test}}, opt);
  }
  world.barrier();
  const ShardSet set = ShardSet::open(dir + "/set");
  const std::shared_ptr<ItemTransformer> model = rec_eval_mpi_test_model(V);

  struct Case {
    const char* protocol;
    const char* sampling;
    bool exclude;
    const char* split;
  };
  for (const Case& c : {Case{"full", "uniform", false, "valid"}, Case{"full", "uniform", true, "test"},
                        Case{"sampled", "uniform", false, "valid"},
                        Case{"sampled", "popularity", false, "test"}}) {
    EvalConfig cfg;
    cfg.protocol = c.protocol;
    cfg.sampling = c.sampling;
    cfg.exclude_history = c.exclude;
    cfg.split = c.split;
    cfg.negatives = 40;
    cfg.batch_size = 5;
    const RecEvaluator spread(set, cfg, world);
    const nlohmann::json all = spread.evaluate(*model, world);
    const nlohmann::json one = RecEvaluator(set, cfg, alone).evaluate(*model, alone);
    const std::string what = std::string(c.protocol) + "/" + c.sampling + "/" + c.split;
    EXPECT_EQ(all, one) << what << "\n" << all.dump() << "\n" << one.dump();
    EXPECT_EQ(all["num_users"], users) << what;
    if (world.world() > 1) {
      EXPECT_LT(spread.num_local_users(), users) << "each rank holds a share";
    }
    // Every rank gets every user's rank, sorted by user, as one process alone ranks them.
    const std::vector<UserRank> gathered = spread.all_ranks(*model, world);
    std::vector<UserRank> alone_ranks = RecEvaluator(set, cfg, alone).rank_users(*model);
    std::sort(alone_ranks.begin(), alone_ranks.end(),
              [](const UserRank& a, const UserRank& b) { return a.user < b.user; });
    ASSERT_EQ(gathered.size(), alone_ranks.size()) << what;
    for (size_t i = 0; i < gathered.size(); ++i) {
      EXPECT_EQ(gathered[i].user, alone_ranks[i].user) << what << " #" << i;
      EXPECT_EQ(gathered[i].rank, alone_ranks[i].rank) << what << " user " << gathered[i].user;
    }
    const auto by_name = make_split_evaluator(set, cfg, world);
    EXPECT_EQ(by_name(*model, c.split), all) << what << ": make_split_evaluator";
    int64_t local = spread.num_local_users();
    world.allreduce_sum(&local, 1);
    EXPECT_EQ(local, users) << what;
  }
  world.barrier();
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace seqmend
