#include "io/hdf5_support.h"

namespace seqmend::hdf5 {

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

}  // namespace seqmend::hdf5
