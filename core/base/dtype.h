// Element types, one enum for every layer: tensors (core/tensor.h) are made of them and
// communicators (distributed/communicator.h) reduce them. Each user says which it supports.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/base/error.h"

namespace seqmend {

struct bf16;  // kernels/bf16.h (storage only here: dtype_of needs no complete type)

enum class DType { F32, F64, I32, I64, BF16 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::BF16: return 2;
  }
  SEQ_FAIL("dtype_size: unknown dtype ", int(t));
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::BF16: return "bf16";
  }
  return "?";
}

template <typename T>
constexpr DType dtype_of() {
  static_assert(sizeof(T) == 0, "dtype_of: no DType for this type");
  return DType::F32;
}
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }
template <> constexpr DType dtype_of<bf16>() { return DType::BF16; }

}  // namespace seqmend
