#include "core/device_batch.h"

namespace seqmend {
namespace {

// The device copy of `v` in `buf` (grown with headroom when too small); the vector on the CPU.
template <typename T>
const T* put(Tensor& buf, const std::vector<T>& v, DType dtype, Device dev) {
  if (dev == Device::CPU) return v.data();
  if (v.empty()) return nullptr;
  const int64_t n = int64_t(v.size());
  if (!buf.defined() || buf.numel() < n) buf = Tensor::empty({n + n / 4 + 1}, dtype, dev);
  copy_bytes(buf.raw(), dev, v.data(), Device::CPU, v.size() * sizeof(T));
  return static_cast<const T*>(buf.raw());
}

}  // namespace

const BatchArrays& DeviceBatch::upload(const Batch& b, Device dev) {
  a_.item = put(item_, b.item, DType::I32, dev);
  a_.position = put(position_, b.position, DType::I32, dev);
  a_.action = put(action_, b.action, DType::I32, dev);
  a_.gap = put(gap_, b.gap, DType::I32, dev);
  static_assert(sizeof(uint64_t) == sizeof(int64_t));  // keys travel in an i64 buffer
  a_.token_keys = put(keys_, b.token_keys, DType::I64, dev);
  a_.target_items = put(targets_, b.target_items, DType::I32, dev);
  return a_;
}

const int64_t* DeviceBatch::rows(const std::vector<int64_t>& rows, Device dev) {
  return put(rows_, rows, DType::I64, dev);
}

}  // namespace seqmend
