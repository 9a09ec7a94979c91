#include "experiments/run/resume_or_clear.h"

#include <filesystem>
#include <system_error>

#include "experiments/run/checkpoint.h"
#include "experiments/run/dp_group.h"

namespace fs = std::filesystem;

namespace seqmend {

bool resume_or_clear(const std::string& run_dir, bool wanted, DataParallelGroup& group, const std::string& who) {
  if (group.all_agree(wanted && !list_checkpoints(run_dir).empty())) return true;
  std::error_code ec;
  if (group.rank() == 0) fs::remove_all(run_dir, ec);
  group.check_all(!ec, who + ": clearing " + run_dir + (ec ? ": " + ec.message() : ""));
  return false;
}

}  // namespace seqmend
