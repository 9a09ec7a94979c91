// Bucket layout and start order of GradBucketer, against a recording communicator (no MPI): which
// bucket starts when, and that misuse (overlapping or missing marks) is reported.
#include "distributed/grad_bucketer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/base/error.h"

namespace seqmend {
namespace {

// Pretends to be one of `world` ranks that all hold the same gradients: a sum multiplies by world.
class RecordingCommunicator final : public Communicator {
 public:
  explicit RecordingCommunicator(int world) : world_(world) {}
  int rank() const override { return 0; }
  int world() const override { return world_; }
  const char* backend() const override { return "recording"; }

  void allreduce(void* data, size_t count, DType t, ReduceOp op) override { scale(data, count, t, op); }
  std::unique_ptr<CommHandle> iallreduce(void* data, size_t count, DType t, ReduceOp op) override {
    started.push_back({size_t(static_cast<float*>(data) - base), count});
    scale(data, count, t, op);
    return std::make_unique<Done>();
  }
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  std::vector<std::byte> allgather(const void* blob, size_t bytes) override {
    std::vector<std::byte> out(bytes * size_t(world_));
    for (int r = 0; r < world_; ++r) std::memcpy(out.data() + size_t(r) * bytes, blob, bytes);
    return out;
  }

  struct Range {
    size_t offset, count;
    bool operator==(const Range&) const = default;
  };
  std::vector<Range> started;
  const float* base = nullptr;

 private:
  struct Done final : CommHandle {
    void wait() override {}
    bool done() override { return true; }
  };
  void scale(void* data, size_t count, DType t, ReduceOp op) {
    ASSERT_EQ(t, DType::F32);
    float* p = static_cast<float*>(data);
    for (size_t i = 0; i < count; ++i) p[i] = op == ReduceOp::sum ? p[i] * float(world_) : p[i];
  }
  int world_;
};

constexpr double kMbPer1000Floats = 1000.0 * sizeof(float) / (1024.0 * 1024.0);

TEST(GradBucketPlan, CoversTheBufferFromTheEnd) {
  const auto b = plan_grad_buckets(2500, 1000);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].begin, 1500u);
  EXPECT_EQ(b[0].end, 2500u);
  EXPECT_EQ(b[1].begin, 500u);
  EXPECT_EQ(b[1].end, 1500u);
  EXPECT_EQ(b[2].begin, 0u);
  EXPECT_EQ(b[2].end, 500u);
  EXPECT_TRUE(plan_grad_buckets(0, 10).empty());
  EXPECT_THROW(plan_grad_buckets(10, 0), Error);
}

TEST(GradBucketer, StartsBucketsInReverseParameterOrderAsBackwardMarksThem) {
  std::vector<float> g(2500, 1.0f);
  RecordingCommunicator comm(2);
  comm.base = g.data();
  GradBucketer bk(comm, g.data(), g.size(), kMbPer1000Floats);
  ASSERT_EQ(bk.num_buckets(), 3u);

  bk.mark_ready(2000, 500);  // last parameter: half of bucket 0
  EXPECT_EQ(bk.buckets_started(), 0u);
  bk.mark_ready(1200, 800);  // completes bucket 0 and part of bucket 1
  EXPECT_EQ(bk.buckets_started(), 1u);
  ASSERT_EQ(comm.started.size(), 1u);
  EXPECT_EQ(comm.started[0], (RecordingCommunicator::Range{1500, 1000}));
  bk.mark_ready(0, 1200);  // first parameters: completes buckets 1 and 2
  EXPECT_EQ(bk.buckets_started(), 3u);
  ASSERT_EQ(comm.started.size(), 3u);
  EXPECT_EQ(comm.started[1], (RecordingCommunicator::Range{500, 1000}));
  EXPECT_EQ(comm.started[2], (RecordingCommunicator::Range{0, 500}));

  bk.finish();
  for (float v : g) ASSERT_EQ(v, 1.0f);  // sum over 2 equal ranks, divided by 2
  EXPECT_EQ(bk.steps(), 1u);
  EXPECT_EQ(bk.buckets_started(), 0u);  // ready for the next step
}

TEST(GradBucketer, ALaterBucketReadyFirstWaitsForTheEarlierOne) {
  std::vector<float> g(2500, 3.0f);
  RecordingCommunicator comm(4);
  comm.base = g.data();
  GradBucketer bk(comm, g.data(), g.size(), kMbPer1000Floats);
  bk.mark_ready(0, 1500);  // buckets 1 and 2 complete, bucket 0 not yet
  EXPECT_EQ(bk.buckets_started(), 0u);
  EXPECT_TRUE(comm.started.empty());
  bk.mark_ready(1500, 1000);
  ASSERT_EQ(comm.started.size(), 3u);
  EXPECT_EQ(comm.started[0].offset, 1500u);
  EXPECT_EQ(comm.started[1].offset, 500u);
  EXPECT_EQ(comm.started[2].offset, 0u);
  bk.finish();
  for (float v : g) ASSERT_EQ(v, 3.0f);
}

TEST(GradBucketer, OverlappingMarksAreRejected) {
  std::vector<float> g(100, 0.0f);
  RecordingCommunicator comm(1);
  GradBucketer bk(comm, g.data(), g.size(), 1.0);
  bk.mark_ready(40, 20);
  EXPECT_THROW(bk.mark_ready(50, 20), Error);  // starts inside
  EXPECT_THROW(bk.mark_ready(30, 11), Error);  // ends inside
  EXPECT_THROW(bk.mark_ready(30, 40), Error);  // covers it
  EXPECT_THROW(bk.mark_ready(90, 11), Error);  // past the end
  bk.mark_ready(60, 40);                       // touching is fine
  bk.mark_ready(0, 40);
  bk.finish();
}

TEST(GradBucketer, FinishWithUnmarkedGradientsNamesTheBucket) {
  std::vector<float> g(2500, 0.0f);
  RecordingCommunicator comm(2);
  GradBucketer bk(comm, g.data(), g.size(), kMbPer1000Floats);
  bk.mark_ready(1500, 1000);
  bk.mark_ready(0, 1499);  // one element of bucket 1 never marked
  try {
    bk.finish();
    FAIL() << "finish() accepted an unmarked gradient";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bucket 1 of 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("999 of 1000"), std::string::npos) << e.what();
  }
}

TEST(GradBucketer, MarkAllReadyFillsTheGaps) {
  std::vector<float> g(2500, 2.0f);
  RecordingCommunicator comm(2);
  comm.base = g.data();
  GradBucketer bk(comm, g.data(), g.size(), kMbPer1000Floats);
  bk.mark_ready(100, 50);
  bk.mark_ready(2400, 100);
  bk.mark_all_ready();
  EXPECT_EQ(bk.buckets_started(), 3u);
  bk.finish();
  for (float v : g) ASSERT_EQ(v, 2.0f);
}

TEST(GradBucketer, RejectsANonPositiveBucketSize) {
  std::vector<float> g(10);
  RecordingCommunicator comm(1);
  EXPECT_THROW(GradBucketer(comm, g.data(), g.size(), 0.0), Error);
  EXPECT_THROW(GradBucketer(comm, g.data(), g.size(), -1.0), Error);
}

}  // namespace
}  // namespace seqmend
