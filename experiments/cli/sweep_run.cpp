#include "experiments/cli/sweep_run.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "core/base/error.h"
#include "distributed/mpi_env.h"
#include "experiments/cli/model_cost.h"
#include "experiments/cli/sweep_collect.h"
#include "experiments/cli/sweep_dir.h"
#include "experiments/cli/sweep_local.h"
#include "experiments/cli/sweep_point.h"
#include "experiments/cli/sweep_slurm.h"
#include "experiments/cli/sweep_spec.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

using json = nlohmann::json;

struct PlannedPoint {
  const SweepPoint* point = nullptr;
  PointInputs inputs;
  ResolvedPoint resolved;
  std::string status;
  bool has_cost = false;
  CostEstimate cost;
};

std::string duration(double s) {
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  return buf;
}

std::string step_time(double s) {
  char buf[32];
  if (s < 1) std::snprintf(buf, sizeof buf, "%.1f ms", s * 1e3);
  else std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

// The estimate of one point, when its training data can be read now (a pipeline's data stage may
// not have run yet).
bool estimate(const ResolvedPoint& rp, int ranks, double gflops, CostEstimate& out) {
  if (rp.data_dir.empty()) return false;
  const DataShape shape = data_shape(rp.data_dir, rp.pretrain.model.max_len);
  out = estimate_pretrain_cost(rp.pretrain, shape, ranks, gflops * ranks);
  return true;
}

void print_plan(const std::vector<PlannedPoint>& plan, int ranks, int threads_per_rank) {
  std::printf("sweep: %zu points; estimates on this machine at %d rank(s) x %d thread(s) per point:\n", plan.size(),
              ranks, threads_per_rank);
  size_t w = 5;
  for (const auto& p : plan) w = std::max(w, p.point->name.size());
  std::printf("  %-*s  %9s  %11s  %8s  %10s  %10s  %10s  %s\n", int(w), "point", "params", "GFLOP/step", "steps",
              "est. step", "est. total", "mem/rank", "action");
  for (const auto& p : plan) {
    const std::string action = (status_needs_run(p.status) ? "run (" : "skip (") + p.status + ")";
    if (p.has_cost)
      std::printf("  %-*s  %9s  %11.3f  %8lld  %10s  %10s  %10s  %s\n", int(w), p.point->name.c_str(),
                  si_number(double(p.cost.params)).c_str(), p.cost.flops_per_step / 1e9, (long long)p.cost.steps,
                  step_time(p.cost.step_seconds).c_str(), duration(p.cost.step_seconds * double(p.cost.steps)).c_str(),
                  byte_size(p.cost.bytes_per_rank).c_str(), action.c_str());
    else
      std::printf("  %-*s  %9s  %11s  %8s  %10s  %10s  %10s  %s\n", int(w), p.point->name.c_str(), "?", "?", "?", "?",
                  "?", "?", (action + ", costs known after its data stage").c_str());
  }
  std::fflush(stdout);
}

std::string absolute(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }

// One sweep command at a time per directory: two would start the same queued points. The lock is
// an flock on OUT/.sweep.lock holding the owner's pid, released when this process ends.
class SweepLock {
 public:
  explicit SweepLock(const std::string& out) {
    fs::create_directories(out);
    const std::string path = out + "/.sweep.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) SEQ_FAIL("sweep: cannot open ", path, ": ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char pid[32] = {};
      const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
      ::close(fd_);
      SEQ_FAIL("sweep: another sweep command (pid ", n > 0 ? std::string(pid, size_t(n)) : std::string("?"),
               ") is running in ", out, "; wait for it or stop it first");
    }
    const std::string me = std::to_string(::getpid());
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) < 0) {
      // The pid is for the message above only; the lock holds without it.
    }
  }
  ~SweepLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;

 private:
  int fd_ = -1;
};

// The line a finished point prints: its test metric, or why it did not finish.
std::string outcome_line(const LocalOutcome& o, const std::string& dir) {
  const json rec = read_point_record(dir + "/" + o.name);
  const std::string state = rec.is_object() ? rec.value("state", "?") : "?";
  std::string s = "sweep: " + o.name + " " + state + " in " + duration(o.seconds);
  if (state == "done") {
    const json test = rec.is_object() ? rec["summary"].value("test", json()) : json();
    if (test.is_object() && test.contains("ndcg@10"))
      s += str(" (test hr@10 ", test.value("hr@10", 0.0), ", ndcg@10 ", test.value("ndcg@10", 0.0), ")");
  } else if (rec.is_object() && rec.contains("error")) {
    s += ": " + rec["error"].get<std::string>().substr(0, 300) + " (log: " + dir + "/" + o.name + "/sweep.log)";
  }
  return s;
}

}  // namespace

int run_sweep(const std::string& file, const SweepOptions& o) {
  if (o.jobs < 1 || o.ranks < 1 || o.threads < 0 || o.array_parallel < 0)
    SEQ_FAIL("sweep: --jobs, --ranks must be >= 1, --threads and --array-parallel >= 0");
  if (!o.slurm && !o.sbatch_args.empty())
    SEQ_FAIL("sweep: unknown option(s) `", o.sbatch_args.front(), "` (sbatch options go with --slurm)");
  const SweepSpec spec = read_sweep_spec(file);
  const std::string out = o.out.empty() ? "runs/" + fs::path(file).stem().string() : o.out;

  // Every point resolved and checked before anything runs.
  std::vector<PlannedPoint> plan;
  for (const auto& p : spec.points) {
    PlannedPoint pp;
    pp.point = &p;
    pp.inputs = point_inputs(spec, p, out);
    pp.resolved = resolve_point(pp.inputs);
    pp.status = point_status(read_point_record(pp.inputs.dir), pp.resolved.key);
    plan.push_back(std::move(pp));
  }
  std::map<std::string, int> names;
  for (const auto& p : plan)
    if (++names[p.point->name] > 1) SEQ_FAIL("sweep: two points named ", p.point->name);

  const int hw = std::max(1, int(std::thread::hardware_concurrency()));
  const int threads = o.threads > 0 ? o.threads : hw;
  size_t to_run = 0;
  for (const auto& p : plan) to_run += status_needs_run(p.status) ? 1 : 0;
  const int concurrent = o.slurm ? 1 : int(std::max<size_t>(1, std::min<size_t>(size_t(o.jobs), to_run)));
  const int threads_per_rank = std::max(1, threads / (concurrent * o.ranks));
  const double gflops = measured_step_gflops(threads_per_rank);
  for (auto& p : plan) {
    try {
      p.has_cost = estimate(p.resolved, o.ranks, gflops, p.cost);
    } catch (const std::exception& e) {
      SEQ_FAIL("sweep: point ", p.point->name, ": ", e.what());
    }
  }
  print_plan(plan, o.ranks, threads_per_rank);

  // Memory: a point that cannot fit is refused up front, not found out by the kernel's OOM killer.
  const double avail = available_memory_bytes();
  std::vector<std::string> too_big;
  for (const auto& p : plan)
    if (p.has_cost && avail > 0 && status_needs_run(p.status) && p.cost.bytes_per_rank * o.ranks > avail)
      too_big.push_back(p.point->name + " (" + byte_size(p.cost.bytes_per_rank * o.ranks) + ")");
  if (!too_big.empty()) {
    std::string list;
    for (const auto& t : too_big) list += "\n  " + t;
    if (!o.insist)
      SEQ_FAIL("sweep: ", too_big.size(), " point(s) need more memory than this machine has available (",
               byte_size(avail), "):", list, "\nshrink them, or run them anyway with --insist");
    std::printf("sweep: warning: running %zu point(s) above the available memory (%s) because of --insist:%s\n",
                too_big.size(), byte_size(avail).c_str(), list.c_str());
  }

  std::vector<std::string> keys, statuses;
  for (const auto& p : plan) {
    keys.push_back(p.resolved.key);
    statuses.push_back(p.status);
  }
  if (o.dry_run) {
    std::printf("sweep: dry run: %zu of %zu points would run in %s%s; nothing was written\n", to_run, plan.size(),
                out.c_str(), o.slurm ? " as a Slurm job array" : "");
    return 0;
  }
  const SweepLock lock(out);
  json sweep = make_sweep_json(spec, keys, statuses);
  sweep["insist"] = o.insist;
  if (fs::is_regular_file(out + "/sweep.json")) {
    const json before = read_sweep_json(out);
    if (before.contains("slurm")) sweep["slurm"] = before["slurm"];
  }
  write_sweep_dir(out, spec, sweep);

  std::vector<int64_t> indices;
  for (const auto& p : plan)
    if (status_needs_run(p.status)) indices.push_back(p.point->index);

  if (o.slurm) {
    if (indices.empty()) {
      std::printf("sweep: every point is done or running; nothing to submit\n");
      return 0;
    }
    SweepSlurmOptions so;
    so.seqmend = fs::read_symlink("/proc/self/exe").string();
    so.sweep_dir = absolute(out);
    so.workdir = fs::current_path().string();
    so.job_name = "sweep-" + fs::path(file).stem().string();
    so.indices = indices;
    so.array_parallel = o.array_parallel;
    so.sbatch_args = o.sbatch_args;
    const std::string job = submit_sweep(so);
    sweep["slurm"] = {{"job_id", job},
                      {"script", so.sweep_dir + "/sweep.sbatch"},
                      {"array", slurm_array_spec(indices, o.array_parallel)}};
    write_sweep_json(out, sweep);
    std::printf(
        "sweep: submitted job %s: %zu array task(s) (%s); logs in %s/logs; when they are done: seqmend sweep "
        "collect %s\n",
        job.c_str(), indices.size(), slurm_array_spec(indices, o.array_parallel).c_str(), out.c_str(), out.c_str());
    return 0;
  }

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<LocalOutcome> outcomes;
  bool interrupted = false;
  if (!indices.empty()) {
    std::vector<LocalPoint> todo;
    for (const auto& p : plan)
      if (status_needs_run(p.status)) todo.push_back({p.point->index, p.point->name, p.inputs.dir});
    LocalRunOptions lo;
    lo.seqmend = fs::read_symlink("/proc/self/exe").string();
    lo.sweep_dir = out;
    lo.jobs = o.jobs;
    lo.ranks = o.ranks;
    lo.threads_per_rank = threads_per_rank;
    std::printf("sweep: running %zu point(s), %d at a time, %d rank(s) x %d thread(s) each\n", todo.size(),
                std::min<int>(o.jobs, int(todo.size())), o.ranks, threads_per_rank);
    std::fflush(stdout);
    size_t finished = 0;
    lo.on_finished = [&](const LocalOutcome& oc) {
      std::printf("%s [%zu/%zu]\n", outcome_line(oc, out).c_str(), ++finished, todo.size());
      std::fflush(stdout);
    };
    outcomes = run_points_locally(todo, lo, interrupted);
  } else {
    std::printf("sweep: every point is done or running; nothing to run\n");
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const json collected = collect_sweep(out);
  int done = 0, failed = 0, other = 0;
  for (const auto& r : collected["rows"]) {
    const std::string s = r.value("state", "");
    (s == "done" ? done : s == "failed" ? failed : other) += 1;
  }
  std::printf("sweep: %d done, %d failed, %d not finished, of %zu points; this run took %s; table in %s/results.md%s\n",
              done, failed, other, plan.size(), duration(wall).c_str(), out.c_str(),
              collected["plots_note"].get<std::string>().empty() ? "" : " (no plots: matplotlib missing)");
  if (interrupted) {
    std::printf("sweep: interrupted; run the same command again to resume\n");
    return 130;
  }
  return failed > 0 || other > 0 ? 1 : 0;
}

int run_sweep_point(const std::string& dir, const std::string& name, int64_t index, MpiEnv& env) {
  const json sweep = read_sweep_json(dir);
  const json& entry = sweep_point_entry(sweep, name, index);
  const PointInputs in = point_inputs(dir, sweep, entry);
  if (!sweep.value("insist", false) && sweep.value("kind", "") == "pretrain") {
    // The node a Slurm task lands on is not the one the sweep was checked on.
    const ResolvedPoint rp = resolve_point(in);
    CostEstimate c;
    const double avail = available_memory_bytes();
    if (estimate(rp, env.local_world(), 0.0, c) && avail > 0)
      if (c.bytes_per_rank * env.local_world() > avail)
        SEQ_FAIL("sweep: point ", in.name, " needs ~", byte_size(c.bytes_per_rank * env.local_world()),
                 " on this node, which has ", byte_size(avail),
                 " available (start the sweep with --insist to run it anyway)");
  }
  return run_point(in, env, dir);
}

}  // namespace seqmend
