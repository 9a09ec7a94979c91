#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

#ifdef SEQMEND_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda_allocator.h"
#endif

namespace seqmend {

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Storage::Storage(size_t bytes, Device dev) : bytes_(bytes), dev_(dev) {
  if (dev == Device::CPU) {
    size_t rounded = (bytes + 63) / 64 * 64;
    data_ = std::aligned_alloc(64, rounded ? rounded : 64);
    if (!data_) throw std::bad_alloc();
    return;
  }
#ifdef SEQMEND_WITH_CUDA
  // Through the caching allocator: a training step re-creates the same tensors every step and
  // must not reach cudaMalloc (which synchronises the device) after the first one.
  data_ = cuda_alloc(bytes);
#else
  SEQ_FAIL("tensor: this build has no CUDA backend (configure with nvcc available)");
#endif
}

Storage::~Storage() {
  if (dev_ == Device::CPU) {
    std::free(data_);
    return;
  }
#ifdef SEQMEND_WITH_CUDA
  cuda_free(data_);
#endif
}

static int64_t count(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    SEQ_CHECK(d >= 0, "tensor: negative dimension in shape ", shape_str(s));
    n *= d;
  }
  return n;
}

Tensor Tensor::empty(Shape shape, DType dtype, Device dev) {
  Tensor t;
  t.storage_ = std::make_shared<Storage>(size_t(count(shape)) * dtype_size(dtype), dev);
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype, Device dev) {
  Tensor t = empty(std::move(shape), dtype, dev);
  t.zero_();
  return t;
}

Tensor Tensor::view_of(const Tensor& base, int64_t offset, Shape shape) {
  SEQ_CHECK(base.defined(), "tensor: view of an undefined tensor");
  int64_t n = count(shape);
  SEQ_CHECK(offset >= 0 && offset + n <= base.numel(), "tensor: view ", shape_str(shape), " at offset ",
            offset, " does not fit in ", shape_str(base.shape_));
  Tensor t;
  t.storage_ = base.storage_;
  t.offset_ = base.offset_ + offset;
  t.shape_ = std::move(shape);
  t.dtype_ = base.dtype_;
  return t;
}

int64_t Tensor::size(int i) const {
  int d = dim();
  if (i < 0) i += d;
  SEQ_CHECK(i >= 0 && i < d, "tensor: dimension ", i, " out of range for shape ", shape_str(shape_));
  return shape_[size_t(i)];
}

int64_t Tensor::numel() const { return count(shape_); }

Tensor Tensor::reshape(Shape shape) const {
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      SEQ_CHECK(infer < 0, "tensor: reshape with more than one -1: ", shape_str(shape));
      infer = int(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    SEQ_CHECK(known > 0 && numel() % known == 0, "tensor: cannot reshape ", shape_str(shape_), " to ",
              shape_str(shape));
    shape[size_t(infer)] = numel() / known;
  }
  SEQ_CHECK(count(shape) == numel(), "tensor: cannot reshape ", shape_str(shape_), " to ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  SEQ_CHECK(dim() >= 1 && 0 <= begin && begin <= end && end <= shape_[0], "tensor: rows [", begin, ", ",
            end, ") out of range for shape ", shape_str(shape_));
  int64_t row = shape_[0] ? numel() / shape_[0] : 0;
  Shape s = shape_;
  s[0] = end - begin;
  Tensor t = *this;
  t.offset_ += begin * row;
  t.shape_ = std::move(s);
  return t;
}

void Tensor::zero_() {
  if (!defined()) return;
  if (device() == Device::CPU) {
    std::memset(raw(), 0, nbytes());
    return;
  }
#ifdef SEQMEND_WITH_CUDA
  cudaMemset(raw(), 0, nbytes());
#endif
}

Tensor Tensor::to(Device dev) const {
  Tensor t = empty(shape_, dtype_, dev);
  if (device() == Device::CPU && dev == Device::CPU) {
    std::memcpy(t.raw(), raw(), nbytes());
    return t;
  }
#ifdef SEQMEND_WITH_CUDA
  cudaError_t e = cudaMemcpy(t.raw(), raw(), nbytes(), cudaMemcpyDefault);
  SEQ_CHECK(e == cudaSuccess, "tensor: copy to ", device_name(dev), " failed: ", cudaGetErrorString(e));
#else
  SEQ_FAIL("tensor: this build has no CUDA backend");
#endif
  return t;
}

Tensor Tensor::clone() const { return to(device()); }

Tensor Tensor::cpu() const { return device() == Device::CPU ? *this : to(Device::CPU); }

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev == Device::CPU && src_dev == Device::CPU) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef SEQMEND_WITH_CUDA
  const cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyDefault);
  SEQ_CHECK(e == cudaSuccess, "copy ", device_name(src_dev), " → ", device_name(dst_dev), " (", bytes,
            " bytes) failed: ", cudaGetErrorString(e));
#else
  SEQ_FAIL("copy ", device_name(src_dev), " → ", device_name(dst_dev),
           ": this build has no CUDA backend");
#endif
}

void Tensor::expect_shape(const char* op, const char* name, const Shape& expected) const {
  bool ok = expected.size() == shape_.size();
  for (size_t i = 0; ok && i < expected.size(); ++i) ok = expected[i] == -1 || expected[i] == shape_[i];
  SEQ_CHECK(ok, op, ": ", name, " has shape ", shape_str(shape_), ", expected ", shape_str(expected));
}

}  // namespace seqmend
