#include "io/hdf5_support.h"

#include <cstdlib>

#include "io/atomic_file.h"

namespace seqmend::hdf5 {

namespace {

// HDF5's file drivers put the system's errno into their message ("errno = 28, error message =
// 'No space left on device'"); 0 when the stack carries none.
int errno_in(const std::string& stack) {
  const size_t at = stack.find("errno = ");
  return at == std::string::npos ? 0 : std::atoi(stack.c_str() + at + 8);
}

}  // namespace

std::string failure(const std::string& where, const std::string& what) {
  const std::string stack = error_stack();
  const int err = errno_in(stack);
  if (err == 0) return str(where, ": ", what, ": ", stack);
  // The cause a user can act on comes first; HDF5's own account follows.
  return str(failure_cause(err), is_out_of_room(err) ? " writing " : " with ", where, " (", what, "; HDF5: ", stack,
             ")");
}

int open_files() {
  const ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
  return n > 0 ? int(n) : 0;
}

std::string error_stack() {
  std::string out;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto* s = static_cast<std::string*>(data);
        std::string d = e->desc ? e->desc : "";
        if (d.empty() || s->find(d) != std::string::npos) return 0;
        if (!s->empty()) *s += "; ";
        *s += d;
        return 0;
      },
      &out);
  H5Eclear2(H5E_DEFAULT);
  return out.empty() ? std::string("unknown HDF5 error") : out;
}

void write_attr(hid_t obj, const char* name, int64_t v, const std::string& where) {
  const std::string what = str("writing attribute '", name, "'");
  Handle space(check(H5Screate(H5S_SCALAR), where, what), H5Sclose);
  Handle a(check(H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT), where, what), H5Aclose);
  check(H5Awrite(a, H5T_NATIVE_INT64, &v), where, what);
}

void write_attr(hid_t obj, const char* name, const std::string& v, const std::string& where) {
  const std::string what = str("writing attribute '", name, "'");
  Handle type(check(H5Tcopy(H5T_C_S1), where, what), H5Tclose);
  check(H5Tset_size(type, H5T_VARIABLE), where, what);
  check(H5Tset_cset(type, H5T_CSET_UTF8), where, what);
  Handle space(check(H5Screate(H5S_SCALAR), where, what), H5Sclose);
  Handle a(check(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), where, what), H5Aclose);
  const char* p = v.c_str();
  check(H5Awrite(a, type, &p), where, what);
}

namespace {

hid_t open_attr(hid_t obj, const char* name, const std::string& where, const char* missing) {
  const htri_t exists = check(H5Aexists(obj, name), where, str("looking for attribute '", name, "'"));
  SEQ_CHECK(exists > 0, where, ": missing attribute '", name, "' (", missing, ")");
  return check(H5Aopen(obj, name, H5P_DEFAULT), where, str("opening attribute '", name, "'"));
}

}  // namespace

int64_t read_attr_int(hid_t obj, const char* name, const std::string& where, const char* missing) {
  const std::string what = str("reading attribute '", name, "'");
  Handle a(open_attr(obj, name, where, missing), H5Aclose);
  Handle type(check(H5Aget_type(a), where, what), H5Tclose);
  SEQ_CHECK(H5Tget_class(type) == H5T_INTEGER, where, ": attribute '", name, "' is not an integer");
  int64_t v = 0;
  check(H5Aread(a, H5T_NATIVE_INT64, &v), where, what);
  return v;
}

std::string read_attr_str(hid_t obj, const char* name, const std::string& where, const char* missing) {
  const std::string what = str("reading attribute '", name, "'");
  Handle a(open_attr(obj, name, where, missing), H5Aclose);
  Handle type(check(H5Aget_type(a), where, what), H5Tclose);
  SEQ_CHECK(H5Tget_class(type) == H5T_STRING, where, ": attribute '", name, "' is not a string");
  if (check(H5Tis_variable_str(type), where, what) > 0) {
    Handle mem(check(H5Tcopy(H5T_C_S1), where, what), H5Tclose);
    check(H5Tset_size(mem, H5T_VARIABLE), where, what);
    check(H5Tset_cset(mem, H5Tget_cset(type)), where, what);
    char* p = nullptr;
    check(H5Aread(a, mem, &p), where, what);
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  std::string s(H5Tget_size(type), '\0');
  check(H5Aread(a, type, s.data()), where, what);
  return s.substr(0, s.find('\0'));
}

}  // namespace seqmend::hdf5
