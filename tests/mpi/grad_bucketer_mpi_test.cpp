// Bucketed, overlapped gradient averaging over real ranks equals one plain all-reduce of the whole
// buffer and the average computed by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "distributed/grad_bucketer.h"
#include "distributed/mpi_communicator.h"

namespace seqmend {
namespace {

// Rank r's gradient: every rank can compute every other rank's, so the expected average is known.
std::vector<float> gradient_of_rank(int r, size_t n) {
  std::mt19937 gen(1234u + unsigned(r));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> g(n);
  for (float& v : g) v = normal(gen);
  return g;
}

TEST(GradBucketerMpi, EqualsAPlainAllreduceAndTheHandAverage) {
  MpiCommunicator comm;
  const int w = comm.world();
  // Parameter tensor sizes like a small model's (embeddings, weights, biases, layernorms).
  const std::vector<size_t> sizes = {5000, 64, 64, 4096, 64, 16384, 256, 16384, 64, 64, 3000};
  std::vector<size_t> offsets;
  size_t n = 0;
  for (size_t s : sizes) offsets.push_back(n), n += s;

  std::vector<float> grads = gradient_of_rank(comm.rank(), n);
  std::vector<float> plain = grads;
  comm.allreduce_average(plain.data(), plain.size());

  // 16 KB buckets → several buckets, bucket edges falling inside parameters.
  GradBucketer bucketer(comm, grads.data(), n, 16.0 / 1024.0);
  ASSERT_GT(bucketer.num_buckets(), 4u);
  for (int step = 0; step < 2; ++step) {
    if (step == 1) {  // refill in place: the bucketer holds a pointer into this buffer
      const std::vector<float> fresh = gradient_of_rank(comm.rank(), n);
      std::copy(fresh.begin(), fresh.end(), grads.begin());
    }
    for (size_t p = sizes.size(); p-- > 0;) bucketer.mark_ready(offsets[p], sizes[p]);  // backward order
    bucketer.finish();
    std::vector<double> hand(n, 0.0);
    for (int r = 0; r < w; ++r) {
      const std::vector<float> g = gradient_of_rank(r, n);
      for (size_t i = 0; i < n; ++i) hand[i] += double(g[i]);
    }
    size_t differ_plain = 0, differ_hand = 0;
    for (size_t i = 0; i < n; ++i) {
      differ_plain += grads[i] != plain[i];
      differ_hand += std::abs(double(grads[i]) - hand[i] / w) > 1e-6 * (1.0 + std::abs(hand[i]));
    }
    EXPECT_EQ(differ_plain, 0u) << "step " << step;
    EXPECT_EQ(differ_hand, 0u) << "step " << step;
  }
  EXPECT_EQ(bucketer.steps(), 2u);
  EXPECT_GE(bucketer.total_wait_seconds(), bucketer.last_wait_seconds());
  EXPECT_GE(bucketer.last_wait_seconds(), 0.0);
  EXPECT_GE(bucketer.last_comm_seconds(), bucketer.last_wait_seconds());
  EXPECT_GE(bucketer.total_comm_seconds(), bucketer.last_comm_seconds());
  EXPECT_GT(bucketer.total_comm_seconds(), 0.0);  // two steps of real all-reduces took some time
}

TEST(GradBucketerMpi, AllRanksHoldIdenticalGradientsAfterFinish) {
  MpiCommunicator comm;
  const size_t n = 50000;
  std::vector<float> grads = gradient_of_rank(comm.rank() + 7, n);
  GradBucketer bucketer(comm, grads.data(), n, 0.05);
  bucketer.mark_all_ready();
  bucketer.finish();
  // Rank 0's result, broadcast, must match bit for bit: replicas that drift apart train different models.
  std::vector<float> ref = grads;
  comm.broadcast_values(ref.data(), n, 0);
  size_t differ = 0;
  for (size_t i = 0; i < n; ++i) differ += ref[i] != grads[i];
  EXPECT_EQ(differ, 0u);
}

}  // namespace
}  // namespace seqmend
