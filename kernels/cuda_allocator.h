// Caching allocator for GPU memory. cudaMalloc and cudaFree synchronise the device and cost tens of
// microseconds to milliseconds, so a training step must not call them: freed blocks go into a
// cache keyed by their rounded size and are handed out again. After the first step has grown the
// cache to its working set, later steps are served from it without any cudaMalloc.
//
// All ops run on one stream (kernels/cuda_context.h), so a block freed after being used by an
// enqueued kernel can be reused by a later kernel on the same stream without waiting.
// Only present in builds with the CUDA backend (SEQMEND_WITH_CUDA).
#pragma once

#include <cstddef>
#include <cstdint>

namespace seqmend {

struct CudaAllocatorStats {
  int64_t cuda_mallocs = 0;    // cudaMalloc calls made so far (cache misses)
  int64_t allocations = 0;     // cuda_alloc calls served
  int64_t bytes_reserved = 0;  // held from the driver: in use + cached
  int64_t bytes_in_use = 0;
};

// Device memory of at least `bytes` (256-byte aligned); bytes = 0 gives a valid unique pointer.
// Throws seqmend::Error naming the size when the device is out of memory even after the cache has
// been released.
void* cuda_alloc(size_t bytes);
// Returns a block from cuda_alloc to the cache; null is ignored.
void cuda_free(void* ptr);
// Hands every cached (unused) block back to the driver.
void cuda_allocator_release_cached();
CudaAllocatorStats cuda_allocator_stats();

// Scratch memory for the duration of a scope.
class CudaBuffer {
 public:
  CudaBuffer() = default;
  explicit CudaBuffer(size_t bytes) : ptr_(cuda_alloc(bytes)), bytes_(bytes) {}
  ~CudaBuffer() { cuda_free(ptr_); }
  CudaBuffer(CudaBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; }
  CudaBuffer& operator=(CudaBuffer&& o) noexcept {
    if (this != &o) {
      cuda_free(ptr_);
      ptr_ = o.ptr_;
      bytes_ = o.bytes_;
      o.ptr_ = nullptr;
    }
    return *this;
  }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace seqmend
