#include "experiments/cli/sweep_slurm.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base/error.h"
#include "experiments/cli/sweep_local.h"
#include "io/atomic_file.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

}  // namespace

std::string slurm_array_spec(const std::vector<int64_t>& indices, int array_parallel) {
  std::string out;
  for (size_t i = 0; i < indices.size();) {
    size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(indices[i]);
    if (j > i) out += "-" + std::to_string(indices[j]);
    i = j + 1;
  }
  if (array_parallel > 0) out += "%" + std::to_string(array_parallel);
  return out;
}

std::vector<std::string> sbatch_lines(const std::vector<std::string>& args) {
  std::vector<std::string> lines;
  for (const auto& a : args) {
    if (!a.empty() && a[0] == '-') {
      lines.push_back(a);
    } else {
      if (lines.empty()) SEQ_FAIL("sweep: `", a, "` is not an sbatch option (sbatch options start with -)");
      lines.back() += " " + a;
    }
    SEQ_CHECK(a.find('\n') == std::string::npos, "sweep: an sbatch option holds a line break");
    if (a.rfind("--array", 0) == 0 || a == "-a")
      SEQ_FAIL("sweep: the array is the sweep's points; use --array-parallel K to limit how many run at once");
  }
  return lines;
}

std::string sweep_sbatch_text(const std::string& template_text, const SweepSlurmOptions& o) {
  SEQ_CHECK(!o.indices.empty(), "sweep: no points to submit");
  std::string header = "#SBATCH --job-name=" + o.job_name +
                       "\n#SBATCH --array=" + slurm_array_spec(o.indices, o.array_parallel) +
                       "\n#SBATCH --output=" + o.sweep_dir + "/logs/%A_%a.out";
  const std::vector<std::string> extra = sbatch_lines(o.sbatch_args);
  if (!extra.empty()) header += "\n# from the command line:";
  for (const auto& l : extra) header += "\n#SBATCH " + l;
  std::string s = template_text;
  SEQ_CHECK(s.find("\n@SBATCH@\n") != std::string::npos, "sweep: the sbatch template has no @SBATCH@ line");
  replace_all(s, "\n@SBATCH@\n", "\n" + header + "\n");
  replace_all(s, "@SEQMEND@", shell_quote(o.seqmend));
  replace_all(s, "@SWEEP_DIR@", shell_quote(o.sweep_dir));
  replace_all(s, "@WORKDIR@", shell_quote(o.workdir));
  return s;
}

std::string sweep_sbatch_template() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec)
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      candidates.push_back(p / "slurm/sweep-array.sbatch");
  candidates.push_back(fs::current_path(ec) / "slurm/sweep-array.sbatch");
  for (const auto& c : candidates)
    if (fs::is_regular_file(c)) return c.string();
  SEQ_FAIL("sweep: slurm/sweep-array.sbatch not found beside ", exe.string(), " or in the working directory");
}

std::string submit_sweep(const SweepSlurmOptions& o) {
  std::ifstream in(sweep_sbatch_template());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string script = o.sweep_dir + "/sweep.sbatch";
  fs::create_directories(o.sweep_dir + "/logs");
  write_file_atomic(script, sweep_sbatch_text(ss.str(), o));
  fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add);
  // sbatch hands its environment to the job: this process's MPI start-up variables would make every
  // task's ranks join one stale PMIx namespace (and crash in shared memory).
  std::string cmd = "env";
  for (const auto& name : mpi_job_variable_names()) cmd += " -u " + name;
  FILE* p = popen((cmd + " sbatch --parsable " + shell_quote(script) + " 2>&1").c_str(), "r");
  SEQ_CHECK(p != nullptr, "sweep: could not start sbatch");
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  const int status = pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  const bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!ok) SEQ_FAIL("sweep: sbatch ", script, " failed: ", out.empty() ? std::string("(no output)") : out);
  const std::string last =
      out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);  // after warnings
  return last.substr(0, last.find(';'));  // "jobid;cluster" on multi-cluster setups
}

}  // namespace seqmend
