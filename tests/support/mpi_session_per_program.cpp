// Compiled into every test program: the MPI session files of the jobs a test program starts go
// under a directory of the program's own.
//
// ctest runs test programs side by side, and many start mpirun. Each mpirun makes Open MPI's
// shared <tmp>/ompi.<host>.<uid> and removes it when it ends if nothing else is in it; one removing
// it while another is making its own directory below it fails that start ("orte_session_dir
// failed"), a test failure that has nothing to do with the test. seqmend's own launcher-less
// processes already keep apart (distributed/session_base.h); the mpiruns are kept apart here.
#include <cstdlib>
#include <exception>
#include <optional>

#include "tests/support/temp_dir.h"

namespace {

struct ProgramSessionBase {
  std::optional<seqmend::test::TempDir> dir;
  ProgramSessionBase() {
    // A base the user set stands, and a program that is itself a rank of a job has its launcher's.
    if (std::getenv("OMPI_MCA_orte_tmpdir_base") != nullptr || std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr)
      return;
    try {
      dir.emplace("seqmend_mpi");
    } catch (const std::exception&) {
      return;  // no temporary directory: Open MPI's default stands
    }
    ::setenv("OMPI_MCA_orte_tmpdir_base", dir->str().c_str(), 1);
  }
};

const ProgramSessionBase program_session_base;

}  // namespace
