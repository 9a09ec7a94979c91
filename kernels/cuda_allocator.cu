#include "kernels/cuda_allocator.h"

#include <map>
#include <mutex>
#include <unordered_map>

#include "kernels/cuda_check.h"

namespace seqmend {
namespace {

// Sizes are rounded so near-equal requests share blocks: to 512 bytes below 1 MiB, then to
// 1/8 of the power of two above (at most 12.5 % slack), so a cached block fits the requests of
// the next step that asked for the same tensor shapes.
size_t round_size(size_t bytes) {
  if (bytes < 512) return 512;
  if (bytes < (size_t(1) << 20)) return (bytes + 511) / 512 * 512;
  size_t p = size_t(1) << (63 - __builtin_clzll(bytes));
  const size_t step = p / 8;
  return (bytes + step - 1) / step * step;
}

struct Pool {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;    // rounded size → block
  std::unordered_map<void*, size_t> in_use;    // block → rounded size
  CudaAllocatorStats stats;

  void release_cached_locked() {
    for (auto& [size, p] : free_blocks) {
      cudaFree(p);
      stats.bytes_reserved -= int64_t(size);
    }
    free_blocks.clear();
  }
};

Pool& pool() {
  // Leaked on purpose: blocks may be freed by static destructors after a local static is gone,
  // and the driver reclaims everything at exit anyway.
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

void* cuda_alloc(size_t bytes) {
  const size_t size = round_size(bytes);
  Pool& P = pool();
  std::lock_guard<std::mutex> lock(P.mu);
  ++P.stats.allocations;
  // Best fit among cached blocks no larger than twice the request (a huge block is not wasted
  // on a small tensor).
  auto it = P.free_blocks.lower_bound(size);
  if (it != P.free_blocks.end() && it->first <= 2 * size) {
    void* p = it->second;
    const size_t got = it->first;
    P.free_blocks.erase(it);
    P.in_use[p] = got;
    P.stats.bytes_in_use += int64_t(got);
    return p;
  }
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, size);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear it, give the cache back and try once more
    P.release_cached_locked();
    e = cudaMalloc(&p, size);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    SEQ_FAIL("cuda_alloc: cudaMalloc of ", bytes, " bytes (", size, " rounded) failed: ",
             cudaGetErrorString(e), "; in use ", P.stats.bytes_in_use, " bytes, reserved ",
             P.stats.bytes_reserved);
  }
  ++P.stats.cuda_mallocs;
  P.stats.bytes_reserved += int64_t(size);
  P.stats.bytes_in_use += int64_t(size);
  P.in_use[p] = size;
  return p;
}

void cuda_free(void* ptr) {
  if (!ptr) return;
  Pool& P = pool();
  std::lock_guard<std::mutex> lock(P.mu);
  auto it = P.in_use.find(ptr);
  SEQ_CHECK(it != P.in_use.end(), "cuda_free: pointer ", ptr, " was not allocated by cuda_alloc");
  P.stats.bytes_in_use -= int64_t(it->second);
  P.free_blocks.emplace(it->second, ptr);
  P.in_use.erase(it);
}

void cuda_allocator_release_cached() {
  Pool& P = pool();
  std::lock_guard<std::mutex> lock(P.mu);
  P.release_cached_locked();
}

CudaAllocatorStats cuda_allocator_stats() {
  Pool& P = pool();
  std::lock_guard<std::mutex> lock(P.mu);
  return P.stats;
}

}  // namespace seqmend
