#include "distributed/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "core/base/error.h"
#include "distributed/mpi_check.h"
#include "distributed/mpi_communicator.h"

#define SEQ_NCCL_CHECK(call)                                                                  \
  do {                                                                                        \
    const ncclResult_t seq_nccl_rc_ = (call);                                                 \
    if (seq_nccl_rc_ != ncclSuccess) [[unlikely]]                                             \
      SEQ_FAIL(__FILE__, ":", __LINE__, ": ", #call, " failed: ", ncclGetErrorString(seq_nccl_rc_)); \
  } while (0)

#define SEQ_CUDA_CHECK(call)                                                                  \
  do {                                                                                        \
    const cudaError_t seq_cuda_rc_ = (call);                                                  \
    if (seq_cuda_rc_ != cudaSuccess) [[unlikely]]                                             \
      SEQ_FAIL(__FILE__, ":", __LINE__, ": ", #call, " failed: ", cudaGetErrorString(seq_cuda_rc_)); \
  } while (0)

namespace seqmend {
namespace {

using Clock = std::chrono::steady_clock;

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::F32: return ncclFloat32;
    case DType::F64: return ncclFloat64;
    case DType::I64: return ncclInt64;
    case DType::I32:
    case DType::BF16: break;
  }
  SEQ_FAIL("NcclCommunicator: cannot reduce ", dtype_name(t), " (f32, f64 and i64 only)");
}

bool is_device_pointer(const void* p) {
  cudaPointerAttributes a{};
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
}

// Integer average truncates toward zero, as the MPI backend's divide_by_world does.
__global__ void divide_i64(int64_t* x, size_t n, int64_t world) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    x[i] /= world;
}

int choose_local_rank(MPI_Comm parent, int requested) {
  if (requested >= 0) return requested;
  if (const char* s = std::getenv("SLURM_LOCALID"); s && *s) return std::atoi(s);
  MPI_Comm node;
  SEQ_MPI_CHECK(MPI_Comm_split_type(parent, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int r = 0;
  MPI_Comm_rank(node, &r);
  MPI_Comm_free(&node);
  return r;
}

}  // namespace

// One collective in flight, watched by the watchdog.
struct Pending {
  std::string what;  // "allreduce(f32 x 1048576)"
  cudaEvent_t done = nullptr;
  Clock::time_point started;
  bool finished = false;
};

struct NcclCommunicator::Impl {
  std::unique_ptr<MpiCommunicator> mpi;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int device = 0;
  double timeout_s = 300.0;

  std::mutex mu;
  std::condition_variable cv;
  std::list<Pending*> in_flight;
  std::atomic<bool> aborted{false};
  std::string abort_message;  // set under mu before aborted
  bool stopping = false;
  std::thread watchdog;

  void watch() {
    // A new thread starts on device 0: without this, cudaEventQuery and ncclCommAbort would run
    // there, and every rank of a node would open a context (hundreds of MiB) on GPU 0.
    if (const cudaError_t rc = cudaSetDevice(device); rc != cudaSuccess)
      std::fprintf(stderr, "seqmend: nccl watchdog of rank %d could not select GPU %d: %s\n", mpi->rank(),
                   device, cudaGetErrorString(rc));
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping) {
      cv.wait_for(lock, std::chrono::milliseconds(100));
      if (aborted) continue;
      const auto now = Clock::now();
      for (Pending* p : in_flight) {
        if (p->finished || cudaEventQuery(p->done) == cudaSuccess) continue;
        const double waited = std::chrono::duration<double>(now - p->started).count();
        if (waited < timeout_s) continue;
        abort_message = str("nccl: rank ", mpi->rank(), " of ", mpi->world(), ": ", p->what,
                            " did not finish within ", timeout_s, " s (waited ", waited,
                            " s); another rank has probably failed or diverged — the NCCL "
                            "communicator was aborted");
        aborted = true;
        ncclCommAbort(comm);  // makes the stuck kernel return; the communicator is unusable after
        comm = nullptr;
        cv.notify_all();
        break;
      }
    }
  }

  // Blocks until `p` finishes, the watchdog aborts it, or NCCL reports an asynchronous error.
  void wait(Pending* p) {
    for (;;) {
      if (aborted) throw Error(abort_message);
      const cudaError_t q = cudaEventQuery(p->done);
      if (q == cudaSuccess) break;
      if (q != cudaErrorNotReady)
        SEQ_FAIL("nccl: rank ", mpi->rank(), ": ", p->what, " failed on the GPU: ", cudaGetErrorString(q));
      {
        std::lock_guard<std::mutex> lock(mu);
        if (comm) {
          ncclResult_t async = ncclSuccess;
          SEQ_NCCL_CHECK(ncclCommGetAsyncError(comm, &async));
          if (async != ncclSuccess && async != ncclInProgress)
            SEQ_FAIL("nccl: rank ", mpi->rank(), ": ", p->what, " failed: ", ncclGetErrorString(async));
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    std::lock_guard<std::mutex> lock(mu);
    p->finished = true;
  }

  Pending* start(std::string what) {
    if (aborted) throw Error(abort_message);
    auto* p = new Pending;
    p->what = std::move(what);
    SEQ_CUDA_CHECK(cudaEventCreateWithFlags(&p->done, cudaEventDisableTiming));
    p->started = Clock::now();
    return p;
  }
  void track(Pending* p) {
    std::lock_guard<std::mutex> lock(mu);
    in_flight.push_back(p);
  }
  void retire(Pending* p) {
    {
      std::lock_guard<std::mutex> lock(mu);
      in_flight.remove(p);
    }
    cudaEventDestroy(p->done);
    delete p;
  }

  // Enqueues an all-reduce of device memory on the communication stream, after the work already on
  // the compute (legacy default) stream.
  Pending* enqueue_allreduce(void* data, size_t count, DType t, ReduceOp op) {
    const ncclDataType_t type = nccl_type(t);
    Pending* p = start(str("allreduce(", dtype_name(t), " x ", count, ", ",
                           op == ReduceOp::sum ? "sum" : "average", ")"));
    cudaEvent_t ready;
    SEQ_CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
    SEQ_CUDA_CHECK(cudaEventRecord(ready, 0));
    SEQ_CUDA_CHECK(cudaStreamWaitEvent(stream, ready, 0));
    cudaEventDestroy(ready);
    const bool nccl_avg = op == ReduceOp::average && t != DType::I64;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!comm) throw Error(abort_message);
      SEQ_NCCL_CHECK(ncclAllReduce(data, data, count, type, nccl_avg ? ncclAvg : ncclSum,
                                   comm, stream));
    }
    if (op == ReduceOp::average && t == DType::I64 && count > 0) {
      const unsigned blocks = unsigned(std::min<size_t>((count + 255) / 256, 4096));
      divide_i64<<<blocks, 256, 0, stream>>>(static_cast<int64_t*>(data), count, mpi->world());
      SEQ_CUDA_CHECK(cudaGetLastError());
    }
    SEQ_CUDA_CHECK(cudaEventRecord(p->done, stream));
    track(p);
    return p;
  }
};

namespace {

class NcclHandle final : public CommHandle {
 public:
  NcclHandle(NcclCommunicator::Impl* impl, Pending* p) : impl_(impl), p_(p) {}
  ~NcclHandle() override {
    if (!p_) return;
    try {
      impl_->wait(p_);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "seqmend: dropped NCCL all-reduce handle failed: %s\n", e.what());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    impl_->retire(p_);
  }
  void wait() override {
    if (!p_) return;
    impl_->wait(p_);
    impl_->retire(p_);
    p_ = nullptr;
  }
  bool done() override {
    if (!p_) return true;
    if (cudaEventQuery(p_->done) != cudaSuccess) return false;
    wait();
    return true;
  }

 private:
  NcclCommunicator::Impl* impl_;
  Pending* p_;
};

}  // namespace

NcclCommunicator::NcclCommunicator(MPI_Comm parent, const NcclOptions& opt) : impl_(new Impl) {
  Impl& I = *impl_;
  I.mpi = std::make_unique<MpiCommunicator>(parent);
  I.timeout_s = opt.timeout_s;
  int ndev = 0;
  SEQ_CUDA_CHECK(cudaGetDeviceCount(&ndev));
  SEQ_CHECK(ndev > 0, "nccl: rank ", I.mpi->rank(), " sees no GPU");
  const int local = choose_local_rank(parent, opt.local_rank);
  SEQ_CHECK(local >= 0, "nccl: bad local rank ", local);
  // One GPU per local rank; more local ranks than GPUs share them round-robin (tests only).
  I.device = local % ndev;
  SEQ_CUDA_CHECK(cudaSetDevice(I.device));
  SEQ_CUDA_CHECK(cudaStreamCreateWithFlags(&I.stream, cudaStreamNonBlocking));
  ncclUniqueId id;
  if (I.mpi->rank() == 0) SEQ_NCCL_CHECK(ncclGetUniqueId(&id));
  I.mpi->broadcast(&id, sizeof(id), 0);
  SEQ_NCCL_CHECK(ncclCommInitRank(&I.comm, I.mpi->world(), id, I.mpi->rank()));
  I.watchdog = std::thread([&I] { I.watch(); });
}

NcclCommunicator::~NcclCommunicator() {
  Impl& I = *impl_;
  {
    std::lock_guard<std::mutex> lock(I.mu);
    I.stopping = true;
  }
  I.cv.notify_all();
  if (I.watchdog.joinable()) I.watchdog.join();
  if (I.comm) ncclCommDestroy(I.comm);
  if (I.stream) cudaStreamDestroy(I.stream);
}

int NcclCommunicator::rank() const { return impl_->mpi->rank(); }
int NcclCommunicator::world() const { return impl_->mpi->world(); }
int NcclCommunicator::device() const { return impl_->device; }

void NcclCommunicator::allreduce(void* data, size_t count, DType t, ReduceOp op) {
  if (!is_device_pointer(data)) return impl_->mpi->allreduce(data, count, t, op);
  Pending* p = impl_->enqueue_allreduce(data, count, t, op);
  try {
    impl_->wait(p);
  } catch (...) {
    impl_->retire(p);
    throw;
  }
  impl_->retire(p);
}

std::unique_ptr<CommHandle> NcclCommunicator::iallreduce(void* data, size_t count, DType t,
                                                         ReduceOp op) {
  if (!is_device_pointer(data)) return impl_->mpi->iallreduce(data, count, t, op);
  return std::make_unique<NcclHandle>(impl_.get(), impl_->enqueue_allreduce(data, count, t, op));
}

void NcclCommunicator::broadcast(void* data, size_t bytes, int root) {
  if (!is_device_pointer(data)) return impl_->mpi->broadcast(data, bytes, root);
  Impl& I = *impl_;
  Pending* p = I.start(str("broadcast(", bytes, " bytes from rank ", root, ")"));
  {
    std::lock_guard<std::mutex> lock(I.mu);
    if (!I.comm) throw Error(I.abort_message);
    SEQ_NCCL_CHECK(ncclBroadcast(data, data, bytes, ncclUint8, root, I.comm, I.stream));
  }
  SEQ_CUDA_CHECK(cudaEventRecord(p->done, I.stream));
  I.track(p);
  try {
    I.wait(p);
  } catch (...) {
    I.retire(p);
    throw;
  }
  I.retire(p);
}

void NcclCommunicator::barrier() { impl_->mpi->barrier(); }

std::vector<std::byte> NcclCommunicator::allgather(const void* blob, size_t bytes) {
  return impl_->mpi->allgather(blob, bytes);
}

}  // namespace seqmend
