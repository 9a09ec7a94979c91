#include "experiments/run/dp_group.h"

#include <span>

#include "core/base/error.h"
#include "distributed/communicator.h"
#include "distributed/failure.h"
#include "distributed/fingerprint.h"
#include "distributed/grad_bucketer.h"
#include "distributed/mpi_communicator.h"
#ifdef SEQMEND_WITH_NCCL
#include "distributed/nccl_communicator.h"
#endif

namespace seqmend {

std::unique_ptr<DataParallelGroup> DataParallelGroup::world() {
  auto comm = std::make_unique<MpiCommunicator>();
  auto g = std::make_unique<DataParallelGroup>(*comm);
  g->owned_ = std::move(comm);
  return g;
}

std::unique_ptr<DataParallelGroup> DataParallelGroup::world_gpu() {
#ifdef SEQMEND_WITH_NCCL
  auto comm = std::make_unique<NcclCommunicator>();
  auto g = std::make_unique<DataParallelGroup>(*comm);
  g->owned_ = std::move(comm);
  return g;
#else
  SEQ_FAIL("device cuda: this build has no CUDA/NCCL backend (configure with nvcc and NCCL present)");
#endif
}

DataParallelGroup::DataParallelGroup(Communicator& comm) : comm_(&comm) {}
DataParallelGroup::~DataParallelGroup() = default;

int DataParallelGroup::rank() const { return comm_->rank(); }
int DataParallelGroup::size() const { return comm_->world(); }
void DataParallelGroup::sum(int64_t* data, size_t count) { comm_->allreduce_sum(data, count); }
void DataParallelGroup::sum_ordered(double* data, size_t count) { comm_->allreduce_sum_ordered(data, count); }
bool DataParallelGroup::all_agree(bool yes) { return agree(*comm_, yes); }
void DataParallelGroup::check_all(bool ok, const std::string& what) { seqmend::check_all(*comm_, ok, what); }
bool DataParallelGroup::stop_requested_anywhere() { return seqmend::stop_requested_anywhere(*comm_); }
void DataParallelGroup::install_stop_signal_handlers() { seqmend::install_stop_signal_handlers(); }
int DataParallelGroup::exit_code_stopped() { return kExitStoppedForRequeue; }
uint64_t DataParallelGroup::hash(const std::string& bytes) { return fingerprint_hash(bytes); }

void DataParallelGroup::check_fingerprint(uint64_t config_hash, const float* params, size_t count) {
  check_fingerprints(*comm_, local_fingerprint(*comm_, config_hash, std::span<const float>(params, count)));
}

void DataParallelGroup::bind_gradients(float* grads, size_t count, double bucket_mb) {
  bucketer_ = std::make_unique<GradBucketer>(*comm_, grads, count, bucket_mb);
}
void DataParallelGroup::mark_ready(size_t offset, size_t count) {
  SEQ_CHECK(bucketer_, "DataParallelGroup: mark_ready before bind_gradients");
  bucketer_->mark_ready(offset, count);
}
void DataParallelGroup::finish() {
  SEQ_CHECK(bucketer_, "DataParallelGroup: finish before bind_gradients");
  bucketer_->finish();
}
double DataParallelGroup::last_comm_seconds() const {
  return bucketer_ ? bucketer_->last_comm_seconds() : 0.0;
}
double DataParallelGroup::last_wait_seconds() const {
  return bucketer_ ? bucketer_->last_wait_seconds() : 0.0;
}

}  // namespace seqmend
