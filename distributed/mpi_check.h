// Checked MPI calls. Communicators switch their MPI_Comm to MPI_ERRORS_RETURN so a failing call
// comes back here and becomes a seqmend::Error naming the call, instead of MPI printing its own
// message and exiting from somewhere deep inside the library.
#pragma once

#include <mpi.h>

#include <string>

#include "core/base/error.h"

namespace seqmend {

inline std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, size_t(len));
}

}  // namespace seqmend

// SEQ_MPI_CHECK(MPI_Allreduce(...)) throws "file:line: MPI_Allreduce(...) failed: <MPI's text>".
#define SEQ_MPI_CHECK(call)                                                                         \
  do {                                                                                              \
    int seq_mpi_rc_ = (call);                                                                       \
    if (seq_mpi_rc_ != MPI_SUCCESS) [[unlikely]]                                                    \
      throw ::seqmend::Error(::seqmend::str(__FILE__, ":", __LINE__, ": ", #call, " failed: ",       \
                                            ::seqmend::mpi_error_string(seq_mpi_rc_)));             \
  } while (0)
