// NcclCommunicator with real ranks (GPU builds on a machine with GPUs; skipped elsewhere). Several
// ranks on one GPU share it round-robin, which NCCL allows for tests.
#include <gtest/gtest.h>

#include <vector>

#ifdef SEQMEND_WITH_NCCL
#include <cuda_runtime.h>

#include "distributed/nccl_communicator.h"
#endif

namespace seqmend {
namespace {

#ifdef SEQMEND_WITH_NCCL
bool have_gpu() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return n > 0;
}
#endif

TEST(NcclCommunicator, AllreduceDeviceAndHostBuffers) {
#ifndef SEQMEND_WITH_NCCL
  GTEST_SKIP() << "this build has no CUDA/NCCL backend";
#else
  if (!have_gpu()) GTEST_SKIP() << "no usable GPU: NCCL not exercised";
  NcclOptions opt;
  opt.timeout_s = 60.0;
  NcclCommunicator comm(MPI_COMM_WORLD, opt);
  EXPECT_STREQ(comm.backend(), "nccl");
  const int r = comm.rank(), w = comm.world();
  const size_t n = 1000003;  // odd, larger than one NCCL chunk
  std::vector<float> h(n);
  for (size_t i = 0; i < n; ++i) h[i] = float(r + 1) * float(i % 17);
  float* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, n * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(d, h.data(), n * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  comm.allreduce_sum(d, n);
  ASSERT_EQ(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  const float tri = float(w * (w + 1) / 2);
  for (size_t i = 0; i < n; i += 9973) ASSERT_EQ(h[i], tri * float(i % 17)) << i;
  // Non-blocking, averaged.
  auto handle = comm.iallreduce(d, n, DType::F32, ReduceOp::average);
  handle->wait();
  ASSERT_EQ(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_FLOAT_EQ(h[5], tri * 5.0f);
  cudaFree(d);
  // Host buffers take the MPI path.
  double x = r;
  comm.allreduce_sum(&x, 1);
  EXPECT_EQ(x, w * (w - 1) / 2.0);
#endif
}

}  // namespace
}  // namespace seqmend
