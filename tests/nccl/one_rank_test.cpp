// NcclCommunicator in one process, a world of one: what a GPU machine without mpirun can run (the
// device check). Device-buffer collectives through NCCL, two communicators side by side, and the
// watchdog ending a collective that cannot finish. Skipped without a GPU.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/base/error.h"
#include "distributed/nccl_communicator.h"

#include <cuda_runtime.h>

namespace seqmend {
namespace {

using Clock = std::chrono::steady_clock;

bool have_gpu() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return n > 0;
}

#define SKIP_WITHOUT_GPU() \
  if (!have_gpu()) GTEST_SKIP() << "no usable GPU: NCCL not exercised"

NcclOptions options(double timeout_s) {
  NcclOptions o;
  o.local_rank = 0;
  o.timeout_s = timeout_s;
  return o;
}

template <typename T>
T* device_copy(const std::vector<T>& h) {
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, h.size() * sizeof(T)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  return static_cast<T*>(p);
}

template <typename T>
std::vector<T> host_copy(const T* d, size_t n) {
  std::vector<T> h(n);
  EXPECT_EQ(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return h;
}

// With one rank a sum or an average leaves every element as it was: the values prove that NCCL
// really ran in place on device memory (a wrong pointer, type or count would fault or change them).
TEST(NcclOneRank, DeviceBufferCollectives) {
  SKIP_WITHOUT_GPU();
  NcclCommunicator comm(MPI_COMM_WORLD, options(60.0));
  ASSERT_STREQ(comm.backend(), "nccl");
  ASSERT_EQ(comm.world(), 1);
  ASSERT_EQ(comm.rank(), 0);
  const size_t n = 1000003;  // odd, more than one NCCL chunk
  std::vector<float> f(n);
  std::vector<double> d(n);
  std::vector<int64_t> i(n);
  for (size_t k = 0; k < n; ++k) {
    f[k] = float(k % 17) - 8.5f;
    d[k] = double(k % 29) * 0.25;
    i[k] = int64_t(k % 31) - 15;  // negative ones too: the integer average truncates toward zero
  }
  float* df = device_copy(f);
  double* dd = device_copy(d);
  int64_t* di = device_copy(i);
  comm.allreduce(df, n, DType::F32, ReduceOp::sum);
  EXPECT_EQ(host_copy(df, n), f);
  comm.allreduce(df, n, DType::F32, ReduceOp::average);
  EXPECT_EQ(host_copy(df, n), f);
  comm.allreduce(dd, n, DType::F64, ReduceOp::sum);
  EXPECT_EQ(host_copy(dd, n), d);
  comm.allreduce(di, n, DType::I64, ReduceOp::average);  // NCCL sum, then our divide kernel
  EXPECT_EQ(host_copy(di, n), i);
  auto h = comm.iallreduce(df, n, DType::F32, ReduceOp::average);
  h->wait();
  EXPECT_EQ(host_copy(df, n), f);
  comm.broadcast(dd, n * sizeof(double), 0);
  EXPECT_EQ(host_copy(dd, n), d);
  // Host buffers take the MPI path.
  double x = 2.5;
  comm.allreduce_sum(&x, 1);
  EXPECT_EQ(x, 2.5);
  cudaFree(df);
  cudaFree(dd);
  cudaFree(di);
}

// NCCL allows several communicators in one process on one device (each from its own unique id);
// the rule is that every rank enqueues their collectives in the same order, which one rank does
// by construction. Here both are used in turn and with their collectives in flight together.
TEST(NcclOneRank, TwoCommunicatorsInOneProcess) {
  SKIP_WITHOUT_GPU();
  NcclCommunicator a(MPI_COMM_WORLD, options(60.0));
  NcclCommunicator b(MPI_COMM_WORLD, options(60.0));
  const size_t n = 65537;
  std::vector<float> h(n);
  for (size_t k = 0; k < n; ++k) h[k] = float(k % 13);
  float* x = device_copy(h);
  float* y = device_copy(h);
  a.allreduce_sum(x, n);
  b.allreduce_sum(y, n);
  auto ha = a.iallreduce(x, n, DType::F32, ReduceOp::average);
  auto hb = b.iallreduce(y, n, DType::F32, ReduceOp::sum);
  hb->wait();
  ha->wait();
  EXPECT_EQ(host_copy(x, n), h);
  EXPECT_EQ(host_copy(y, n), h);
  cudaFree(x);
  cudaFree(y);
}

// Holds the compute stream (and so every collective queued after it) until released, or 30 s.
struct StreamHold {
  std::atomic<bool> release{false};
  static void CUDART_CB run(void* arg) {
    auto* self = static_cast<StreamHold*>(arg);
    const auto until = Clock::now() + std::chrono::seconds(30);
    while (!self->release.load() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
};

// A collective that cannot finish (here: queued behind a stream held on purpose; in a job: a peer
// that died) is aborted by the watchdog after timeout_s, and the waiting call throws an Error
// naming the collective and the rank instead of hanging.
TEST(NcclOneRank, WatchdogAbortsAStuckCollective) {
  SKIP_WITHOUT_GPU();
  const double timeout_s = 0.5;
  NcclCommunicator comm(MPI_COMM_WORLD, options(timeout_s));
  const size_t n = 4096;
  float* x = device_copy(std::vector<float>(n, 1.0f));
  StreamHold hold;
  ASSERT_EQ(cudaLaunchHostFunc(0, &StreamHold::run, &hold), cudaSuccess);
  // Released well after the deadline: ncclCommAbort may wait for the held stream to drain.
  std::thread releaser([&hold, timeout_s] {
    std::this_thread::sleep_for(std::chrono::duration<double>(timeout_s + 2.5));
    hold.release = true;
  });
  const auto t0 = Clock::now();
  std::string message;
  try {
    comm.allreduce_sum(x, n);
  } catch (const Error& e) {
    message = e.what();
  }
  const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  hold.release = true;
  releaser.join();
  EXPECT_NE(message.find("allreduce(f32 x 4096"), std::string::npos) << message;
  EXPECT_NE(message.find("rank 0 of 1"), std::string::npos) << message;
  EXPECT_NE(message.find("did not finish within"), std::string::npos) << message;
  EXPECT_GE(waited, timeout_s);
  EXPECT_LT(waited, 20.0);
  // The GPU is fine afterwards; the aborted communicator refuses further work at once.
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_THROW(comm.allreduce_sum(x, n), Error);
  cudaFree(x);
}

}  // namespace
}  // namespace seqmend
