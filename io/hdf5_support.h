// Small pieces every HDF5 writer and reader in seqmend shares (shards, checkpoints): an owning
// handle, a scope that keeps HDF5 from printing its error stack, the stack as text for our own
// errors, a call checker, and the native/file types of the element types we store.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "core/base/error.h"

namespace seqmend::hdf5 {

// Owns one HDF5 identifier; closes it on every path out, exceptions included.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  operator hid_t() const { return id_; }
  bool ok() const { return id_ >= 0; }
  // Closes now and returns the result (a file's final flush happens here, so it can fail).
  herr_t close() {
    herr_t r = id_ >= 0 ? close_(id_) : 0;
    id_ = -1;
    return r;
  }

 private:
  hid_t id_;
  Closer close_;
};

// Turns off HDF5's printing of its error stack for the scope; we report it in the exception instead.
class Quiet {
 public:
  Quiet() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~Quiet() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  Quiet(const Quiet&) = delete;
  Quiet& operator=(const Quiet&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// The descriptions on HDF5's error stack, outermost first ("...; filter returned failure during
// read"); clears the stack.
std::string error_stack();

// The message of a failed call, clearing the stack: "<where>: <what>: <HDF5's error stack>", or,
// when a system call failed underneath, that cause first ("no space left on device writing
// <where> (<what>; HDF5: ...)").
std::string failure(const std::string& where, const std::string& what);

// Returns `result`, or throws failure(where, what) when it is negative.
template <typename R>
R check(R result, const std::string& where, const std::string& what) {
  if (result < 0) SEQ_FAIL(failure(where, what));
  return result;
}

// HDF5 files still open in this process. One whose final flush failed (a full disk) cannot be
// closed, and HDF5's own shutdown at MPI_Finalize then crashes on it: an error exit checks this.
int open_files();

// Scalar attributes: a little-endian int64, or a variable-length UTF-8 string (h5py reads it back
// as a Python str). Errors name `where` and the attribute.
void write_attr(hid_t obj, const char* name, int64_t v, const std::string& where);
void write_attr(hid_t obj, const char* name, const std::string& v, const std::string& where);
// Read back: an integer attribute of any width as int64; a string attribute, variable- or
// fixed-length. A missing attribute is an error "<where>: missing attribute 'NAME' (<missing>)";
// one of another type is an error too.
int64_t read_attr_int(hid_t obj, const char* name, const std::string& where, const char* missing);
std::string read_attr_str(hid_t obj, const char* name, const std::string& where, const char* missing);

template <typename T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<T, int64_t>) return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, uint64_t>) return H5T_NATIVE_UINT64;
  else if constexpr (std::is_same_v<T, int32_t>) return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, int8_t>) return H5T_NATIVE_INT8;
  else if constexpr (std::is_same_v<T, char>) return H5T_NATIVE_CHAR;
  else static_assert(sizeof(T) == 0, "no HDF5 type for this element type");
}

// Little-endian file types, so a shard or checkpoint reads the same on any machine.
template <typename T>
hid_t file_type() {
  if constexpr (std::is_same_v<T, float>) return H5T_IEEE_F32LE;
  else if constexpr (std::is_same_v<T, int64_t>) return H5T_STD_I64LE;
  else if constexpr (std::is_same_v<T, uint64_t>) return H5T_STD_U64LE;
  else if constexpr (std::is_same_v<T, int32_t>) return H5T_STD_I32LE;
  else if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, char>) return H5T_STD_I8LE;
  else static_assert(sizeof(T) == 0, "no HDF5 type for this element type");
}

}  // namespace seqmend::hdf5
