#include "distributed/mpi_communicator.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <exception>

#include "distributed/mpi_check.h"

namespace seqmend {
namespace {

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::F32: return MPI_FLOAT;
    case DType::F64: return MPI_DOUBLE;
    case DType::I64: return MPI_INT64_T;
    case DType::I32:
    case DType::BF16: break;
  }
  SEQ_FAIL("MpiCommunicator: cannot reduce ", dtype_name(t), " (f32, f64 and i64 only)");
}

// MPI counts are int; larger buffers go in pieces of at most this many elements.
constexpr size_t kMaxChunk = size_t(INT_MAX);

class MpiHandle final : public CommHandle {
 public:
  MpiHandle(std::vector<MPI_Request> requests, void* data, size_t count, DType t, ReduceOp op, int world)
      : requests_(std::move(requests)), data_(data), count_(count), type_(t), op_(op), world_(world) {}

  ~MpiHandle() override {
    if (finished_) return;
    try {
      wait();
    } catch (const std::exception& e) {
      // Throwing from a destructor would terminate without the message; say it, then stop the job.
      std::fprintf(stderr, "seqmend: dropped all-reduce handle failed: %s\n", e.what());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }

  void wait() override {
    if (finished_) return;
    SEQ_MPI_CHECK(MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE));
    complete();
  }

  bool done() override {
    if (finished_) return true;
    int flag = 0;
    SEQ_MPI_CHECK(MPI_Testall(int(requests_.size()), requests_.data(), &flag, MPI_STATUSES_IGNORE));
    if (flag) complete();
    return finished_;
  }

 private:
  void complete() {
    finished_ = true;
    if (op_ == ReduceOp::average) divide_by_world(data_, count_, type_, world_);
  }

  std::vector<MPI_Request> requests_;
  void* data_;
  size_t count_;
  DType type_;
  ReduceOp op_;
  int world_;
  bool finished_ = false;
};

}  // namespace

void divide_by_world(void* data, size_t count, DType t, int world) {
  if (world == 1) return;
  switch (t) {
    case DType::F32: {
      // Multiplying by 1/world would round differently from a division for non-powers of two;
      // divide so that average == sum / world exactly as a reader would compute it.
      float* p = static_cast<float*>(data);
      const float w = float(world);
      for (size_t i = 0; i < count; ++i) p[i] /= w;
      break;
    }
    case DType::F64: {
      double* p = static_cast<double*>(data);
      const double w = double(world);
      for (size_t i = 0; i < count; ++i) p[i] /= w;
      break;
    }
    case DType::I64: {
      int64_t* p = static_cast<int64_t*>(data);
      for (size_t i = 0; i < count; ++i) p[i] /= world;
      break;
    }
    case DType::I32:
    case DType::BF16: SEQ_FAIL("divide_by_world: cannot average ", dtype_name(t), " (f32, f64 and i64 only)");
  }
}

MpiCommunicator::MpiCommunicator(MPI_Comm parent) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  SEQ_CHECK(initialized, "MpiCommunicator: MPI is not initialised (create the MpiEnv first)");
  SEQ_MPI_CHECK(MPI_Comm_dup(parent, &comm_));
  SEQ_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  SEQ_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  SEQ_MPI_CHECK(MPI_Comm_size(comm_, &world_));
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (comm_ != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm_);
}

void MpiCommunicator::allreduce(void* data, size_t count, DType t, ReduceOp op) {
  const MPI_Datatype type = mpi_type(t);
  const size_t esize = dtype_size(t);
  for (size_t done = 0; done < count; done += kMaxChunk) {
    const int n = int(std::min(kMaxChunk, count - done));
    SEQ_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, static_cast<char*>(data) + done * esize, n, type,
                                MPI_SUM, comm_));
  }
  if (op == ReduceOp::average) divide_by_world(data, count, t, world_);
}

std::unique_ptr<CommHandle> MpiCommunicator::iallreduce(void* data, size_t count, DType t, ReduceOp op) {
  const MPI_Datatype type = mpi_type(t);
  const size_t esize = dtype_size(t);
  std::vector<MPI_Request> requests;
  for (size_t done = 0; done < count; done += kMaxChunk) {
    const int n = int(std::min(kMaxChunk, count - done));
    MPI_Request req = MPI_REQUEST_NULL;
    SEQ_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, static_cast<char*>(data) + done * esize, n, type,
                                 MPI_SUM, comm_, &req));
    requests.push_back(req);
  }
  return std::make_unique<MpiHandle>(std::move(requests), data, count, t, op, world_);
}

void MpiCommunicator::broadcast(void* data, size_t bytes, int root) {
  SEQ_CHECK(root >= 0 && root < world_, "broadcast: root ", root, " outside world of ", world_);
  for (size_t done = 0; done < bytes; done += kMaxChunk) {
    const int n = int(std::min(kMaxChunk, bytes - done));
    SEQ_MPI_CHECK(MPI_Bcast(static_cast<char*>(data) + done, n, MPI_BYTE, root, comm_));
  }
}

void MpiCommunicator::barrier() { SEQ_MPI_CHECK(MPI_Barrier(comm_)); }

std::vector<std::byte> MpiCommunicator::allgather(const void* blob, size_t bytes) {
  SEQ_CHECK(bytes <= kMaxChunk, "allgather: blob of ", bytes, " bytes is over the ", kMaxChunk,
            "-byte limit of one MPI_Allgather");
  std::vector<std::byte> out(bytes * size_t(world_));
  SEQ_MPI_CHECK(MPI_Allgather(blob, int(bytes), MPI_BYTE, out.data(), int(bytes), MPI_BYTE, comm_));
  return out;
}

}  // namespace seqmend
