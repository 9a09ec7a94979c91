#include "distributed/grad_bucketer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/base/error.h"

namespace seqmend {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

std::vector<GradBucket> plan_grad_buckets(size_t count, size_t bucket_elems) {
  SEQ_CHECK(bucket_elems > 0, "plan_grad_buckets: bucket size must be positive");
  std::vector<GradBucket> out;
  size_t end = count;
  while (end > 0) {
    const size_t begin = end > bucket_elems ? end - bucket_elems : 0;
    out.push_back({begin, end});
    end = begin;
  }
  return out;
}

GradBucketer::GradBucketer(Communicator& comm, float* grads, size_t count, double bucket_mb)
    : comm_(comm), grads_(grads), count_(count) {
  SEQ_CHECK(std::isfinite(bucket_mb) && bucket_mb > 0, "GradBucketer: bucket_mb must be > 0, got ", bucket_mb);
  SEQ_CHECK(grads != nullptr || count == 0, "GradBucketer: null gradient buffer of ", count, " elements");
  const size_t elems = std::max<size_t>(1, size_t(bucket_mb * 1024.0 * 1024.0 / sizeof(float)));
  buckets_ = plan_grad_buckets(count, elems);
  ready_.assign(buckets_.size(), 0);
  inflight_.resize(buckets_.size());
}

GradBucketer::~GradBucketer() = default;  // unfinished handles wait in their destructors

void GradBucketer::mark_ready(size_t offset, size_t count) {
  SEQ_CHECK(offset <= count_ && count <= count_ - offset, "GradBucketer::mark_ready: range [", offset, ", ",
            offset + count, ") outside the gradient buffer of ", count_, " elements");
  if (count == 0) return;
  const size_t end = offset + count;
  // Overlap with a range marked earlier this step: the neighbour at or before `offset`, or one
  // starting inside [offset, end).
  auto next = marked_.lower_bound(offset);
  if (next != marked_.end() && next->first < end)
    SEQ_FAIL("GradBucketer::mark_ready: range [", offset, ", ", end, ") overlaps [", next->first, ", ",
             next->second, ") already marked this step");
  if (next != marked_.begin()) {
    auto prev = std::prev(next);
    if (prev->second > offset)
      SEQ_FAIL("GradBucketer::mark_ready: range [", offset, ", ", end, ") overlaps [", prev->first, ", ",
               prev->second, ") already marked this step");
  }
  marked_.emplace(offset, end);

  // Buckets are ordered from the end of the buffer: bucket i covers [begin, end) with descending begins.
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const size_t lo = std::max(offset, buckets_[b].begin), hi = std::min(end, buckets_[b].end);
    if (lo < hi) ready_[b] += hi - lo;
  }
  const auto t0 = Clock::now();
  start_ready_buckets();
  poll();
  step_comm_s_ += seconds_since(t0);
}

void GradBucketer::mark_all_ready() {
  // Whatever is still unmarked, in gaps between marked ranges.
  size_t pos = 0;
  std::vector<std::pair<size_t, size_t>> gaps;
  for (const auto& [b, e] : marked_) {
    if (b > pos) gaps.emplace_back(pos, b);
    pos = e;
  }
  if (pos < count_) gaps.emplace_back(pos, count_);
  for (auto it = gaps.rbegin(); it != gaps.rend(); ++it) mark_ready(it->first, it->second - it->first);
}

void GradBucketer::start_ready_buckets() {
  while (next_to_start_ < buckets_.size()) {
    const GradBucket& bk = buckets_[next_to_start_];
    if (ready_[next_to_start_] < bk.end - bk.begin) break;
    inflight_[next_to_start_] = comm_.iallreduce_sum(grads_ + bk.begin, bk.end - bk.begin);
    ++next_to_start_;
  }
}

void GradBucketer::poll() {
  for (size_t b = 0; b < next_to_start_; ++b)
    if (inflight_[b]) inflight_[b]->done();
}

void GradBucketer::finish() {
  if (next_to_start_ < buckets_.size()) {
    const GradBucket& bk = buckets_[next_to_start_];
    SEQ_FAIL("GradBucketer::finish: bucket ", next_to_start_, " of ", buckets_.size(), " (elements [", bk.begin,
             ", ", bk.end, ")) has only ", ready_[next_to_start_], " of ", bk.end - bk.begin,
             " elements marked ready; every gradient must be marked before finish()");
  }
  double waited = 0.0;
  const float w = float(comm_.world());
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const auto t0 = Clock::now();
    inflight_[b]->wait();
    waited += seconds_since(t0);
    inflight_[b].reset();
    // Scaled bucket by bucket so the division overlaps with later buckets still on the wire.
    if (w != 1.0f) {
      float* p = grads_ + buckets_[b].begin;
      const size_t n = buckets_[b].end - buckets_[b].begin;
      for (size_t i = 0; i < n; ++i) p[i] /= w;
    }
  }
  last_wait_s_ = waited;
  total_wait_s_ += waited;
  last_comm_s_ = step_comm_s_ + waited;
  total_comm_s_ += last_comm_s_;
  step_comm_s_ = 0.0;
  ++steps_;
  std::fill(ready_.begin(), ready_.end(), 0);
  marked_.clear();
  next_to_start_ = 0;
}

}  // namespace seqmend
