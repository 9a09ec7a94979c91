// MpiCommunicator with real ranks: every value below is what rank-dependent inputs must reduce to.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "distributed/mpi_communicator.h"

namespace seqmend {
namespace {

TEST(MpiCommunicator, SeesTheSameWorldAsMpi) {
  MpiCommunicator comm;
  int rank = -1, world = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  EXPECT_EQ(comm.rank(), rank);
  EXPECT_EQ(comm.world(), world);
  EXPECT_STREQ(comm.backend(), "mpi");
}

TEST(MpiCommunicator, AllreduceSumAndAverageOnEachType) {
  MpiCommunicator comm;
  const int r = comm.rank(), w = comm.world();
  const double rank_sum = w * (w - 1) / 2.0;  // 0 + 1 + ... + (w-1)

  std::vector<float> f = {float(r), 1.5f, float(-2 * r)};
  comm.allreduce_sum(f.data(), f.size());
  EXPECT_EQ(f[0], float(rank_sum));
  EXPECT_EQ(f[1], 1.5f * float(w));
  EXPECT_EQ(f[2], float(-2 * rank_sum));

  std::vector<double> d = {double(r) + 0.25, 10.0};
  comm.allreduce_average(d.data(), d.size());
  EXPECT_DOUBLE_EQ(d[0], rank_sum / w + 0.25);
  EXPECT_EQ(d[1], 10.0);

  std::vector<int64_t> i = {int64_t(r) << 40, 7};  // beyond 32 bits: a narrowing bug shows
  comm.allreduce_sum(i.data(), i.size());
  EXPECT_EQ(i[0], int64_t(rank_sum) << 40);
  EXPECT_EQ(i[1], 7 * w);
  std::vector<int64_t> avg = {int64_t(10 * r + 10)};
  comm.allreduce_average(avg.data(), 1);
  EXPECT_EQ(avg[0], int64_t((10 * rank_sum + 10 * w) / w));

  std::vector<float> f_avg = {float(r + 1)};
  comm.allreduce_average(f_avg.data(), 1);
  EXPECT_EQ(f_avg[0], float(rank_sum + w) / float(w));
}

// Every rank refuses before any MPI call, so no rank waits on the others.
TEST(MpiCommunicator, RefusesTypesItCannotReduce) {
  MpiCommunicator comm;
  int32_t x[2] = {1, 2};
  for (DType t : {DType::I32, DType::BF16}) {
    try {
      comm.allreduce(x, 1, t, ReduceOp::sum);
      ADD_FAILURE() << dtype_name(t) << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("cannot reduce ") + dtype_name(t)), std::string::npos)
          << e.what();
    }
    EXPECT_THROW(comm.iallreduce(x, 1, t, ReduceOp::average), Error);
  }
}

TEST(MpiCommunicator, NonBlockingAllreduce) {
  MpiCommunicator comm;
  const int r = comm.rank(), w = comm.world();
  std::vector<float> a(1000), b(10);
  for (size_t k = 0; k < a.size(); ++k) a[k] = float(k + r);
  std::iota(b.begin(), b.end(), float(r));
  auto ha = comm.iallreduce_sum(a.data(), a.size());
  auto hb = comm.iallreduce(b.data(), b.size(), DType::F32, ReduceOp::average);
  hb->wait();
  ha->wait();
  EXPECT_TRUE(ha->done());
  const double rank_sum = w * (w - 1) / 2.0;
  size_t wrong = 0;  // counted, not ASSERTed: returning early would skip the collective below
  for (size_t k = 0; k < a.size(); ++k) wrong += a[k] != float(w * double(k) + rank_sum);
  for (size_t k = 0; k < b.size(); ++k) wrong += b[k] != float((w * double(k) + rank_sum) / w);
  EXPECT_EQ(wrong, 0u);
  // A handle dropped without wait() finishes before the buffer can go away.
  { auto dropped = comm.iallreduce_sum(a.data(), 1); }
  EXPECT_EQ(a[0], float(w * rank_sum));
}

TEST(MpiCommunicator, BroadcastFromTheLastRank) {
  MpiCommunicator comm;
  const int root = comm.world() - 1;
  std::vector<double> v(5, -1.0);
  if (comm.rank() == root)
    for (size_t k = 0; k < v.size(); ++k) v[k] = 100.0 + double(k);
  comm.broadcast_values(v.data(), v.size(), root);
  for (size_t k = 0; k < v.size(); ++k) EXPECT_EQ(v[k], 100.0 + double(k));
  EXPECT_THROW(comm.broadcast(v.data(), 8, comm.world()), Error);
}

TEST(MpiCommunicator, AllgatherPutsEachRanksBlobAtItsSlot) {
  MpiCommunicator comm;
  struct Blob {
    int32_t rank;
    char tag[12];
  } mine{};
  mine.rank = comm.rank();
  std::snprintf(mine.tag, sizeof(mine.tag), "rank-%d", comm.rank());
  const std::vector<std::byte> all = comm.allgather(&mine, sizeof(mine));
  ASSERT_EQ(all.size(), sizeof(Blob) * size_t(comm.world()));
  for (int r = 0; r < comm.world(); ++r) {
    Blob b;
    std::memcpy(&b, all.data() + size_t(r) * sizeof(Blob), sizeof(Blob));
    EXPECT_EQ(b.rank, r);
    EXPECT_EQ(std::string(b.tag), "rank-" + std::to_string(r));
  }
}

TEST(MpiCommunicator, OrderedSumAddsRankContributionsInRankOrder) {
  MpiCommunicator comm;
  // Values whose float sum depends on the order: 1e8 + 1 + ... loses the small ones in float.
  const int r = comm.rank(), w = comm.world();
  auto contribution = [](int rank) { return rank == 0 ? 1e16 : 1.0 + rank * 1e-3; };
  double expected = 0.0;
  for (int k = 0; k < w; ++k) expected += contribution(k);
  std::vector<double> v = {contribution(r), double(r)};
  comm.allreduce_sum_ordered(v.data(), v.size());
  EXPECT_EQ(v[0], expected);  // bit-exact: the same additions in the same order
  EXPECT_EQ(v[1], w * (w - 1) / 2.0);

  float f = float(r) + 0.5f;
  comm.allreduce_sum_ordered(&f, 1);
  EXPECT_EQ(f, float(w * (w - 1) / 2.0 + 0.5 * w));
  EXPECT_EQ(comm.sum_ordered(1.0), double(w));
}

TEST(MpiCommunicator, BarrierReturnsOnEveryRank) {
  MpiCommunicator comm;
  comm.barrier();
  int64_t one = 1;
  comm.allreduce_sum(&one, 1);
  EXPECT_EQ(one, comm.world());
}

}  // namespace
}  // namespace seqmend
