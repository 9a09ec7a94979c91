// A Tensor is a typed, shaped view into reference-counted storage on one device. Views share the
// storage (this is how the flat parameter and gradient buffers hand out named per-layer tensors).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/base/dtype.h"
#include "core/base/error.h"
#include "kernels/bf16.h"
#include "kernels/device.h"

namespace seqmend {

// Raw bytes on a device, 64-byte aligned on the CPU (AVX-512 loads, no false sharing).
class Storage {
 public:
  Storage(size_t bytes, Device dev);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return dev_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device dev_;
};

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(Shape shape, DType dtype = DType::F32, Device dev = Device::CPU);
  static Tensor zeros(Shape shape, DType dtype = DType::F32, Device dev = Device::CPU);
  // A contiguous view of `shape` starting `offset` elements into `base` (which must be contiguous
  // and large enough). Shares base's storage.
  static Tensor view_of(const Tensor& base, int64_t offset, Shape shape);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t size(int i) const;  // negative i counts from the end
  int dim() const { return int(shape_.size()); }
  int64_t numel() const;
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::CPU; }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }

  template <typename T> T* data() const {
    SEQ_CHECK(dtype_of<T>() == dtype_, "tensor: asked for ", dtype_name(dtype_of<T>()), " data of a ",
              dtype_name(dtype_), " tensor");
    return reinterpret_cast<T*>(static_cast<char*>(storage_->data()) + offset_ * dtype_size(dtype_));
  }
  void* raw() const { return static_cast<char*>(storage_->data()) + offset_ * dtype_size(dtype_); }

  Tensor reshape(Shape shape) const;    // same elements, new shape (one -1 allowed)
  Tensor rows(int64_t begin, int64_t end) const;  // slice along dim 0
  void zero_();
  Tensor to(Device dev) const;          // copy (CPU↔CUDA)
  Tensor cpu() const;                   // this tensor when on the host, else a host copy
  Tensor clone() const;

  // Throws "op: name has shape [..], expected [..]" unless shapes match (-1 matches anything).
  void expect_shape(const char* op, const char* name, const Shape& expected) const;

 private:
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;  // in elements
  Shape shape_;
  DType dtype_ = DType::F32;
};

// Copies `bytes` from src (on src_dev) to dst (on dst_dev): memcpy between host buffers, otherwise
// a cudaMemcpy ordered with the ops' stream (an error in a build without CUDA).
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);

}  // namespace seqmend
