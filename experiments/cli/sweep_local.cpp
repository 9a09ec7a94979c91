#include "experiments/cli/sweep_local.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <system_error>
#include <thread>

#include "core/base/error.h"
#include "distributed/session_base.h"
#include "experiments/run/dp_group.h"
#include "experiments/cli/sweep_point.h"

extern char** environ;

namespace fs = std::filesystem;

namespace seqmend {

namespace {

volatile sig_atomic_t g_signals = 0;  // SIGINT/SIGTERM received since the run started

void on_signal(int) { g_signals = g_signals + 1; }

// The variables an MPI start-up leaves for its own processes: a child's mpirun or MPI_Init reading
// them would try to join this process's job. Permissions and tuning a user set are kept.
bool is_mpi_job_variable(const std::string& name) {
  for (const char* p : {"PMIX_", "OPAL_", "ORTE_", "PMI_", "OMPI_COMM_WORLD_", "OMPI_MCA_orte_", "OMPI_MCA_ess",
                        "OMPI_MCA_pmix", "OMPI_APP_CTX_", "OMPI_MCA_initial_wdir", "OMPI_MCA_shmem_RUNTIME"})
    if (name.rfind(p, 0) == 0) return true;
  for (const char* n : {"OMPI_COMMAND", "OMPI_ARGV", "OMPI_NUM_APP_CTX", "OMPI_FIRST_RANKS", "OMPI_UNIVERSE_SIZE",
                        "OMPI_FILE_LOCATION"})
    if (name == n) return true;
  return false;
}

struct Running {
  LocalPoint point;
  pid_t pid = -1;
  std::chrono::steady_clock::time_point start;
};

// Where a point's MPI session files go: inside this process's own base (distributed/session_base.h),
// so that points under mpirun started and ended side by side never share Open MPI's directory
// <tmp>/ompi.<host>.<uid> (one removing it while another makes its own below it). "" without a base.
std::string point_session_base(const LocalPoint& p) {
  return session_base().empty() ? "" : session_base() + "/point-" + std::to_string(p.index);
}

pid_t spawn(const LocalPoint& p, const LocalRunOptions& o, std::vector<std::string> env) {
  const std::string session = point_session_base(p);
  if (!session.empty()) {
    std::error_code ec;
    fs::create_directories(session, ec);
    env.push_back("OMPI_MCA_orte_tmpdir_base=" + session);
  }
  std::vector<std::string> argv;
  if (o.ranks > 1) argv = {"mpirun", "-np", std::to_string(o.ranks), "--oversubscribe", "--allow-run-as-root"};
  for (const std::string& a : {o.seqmend, std::string("sweep"), std::string("point"), o.sweep_dir,
                               std::string("--index"), std::to_string(p.index)})
    argv.push_back(a);
  fs::create_directories(p.dir);
  const std::string log = p.dir + "/sweep.log";
  std::fflush(nullptr);
  const pid_t pid = fork();
  SEQ_CHECK(pid >= 0, "sweep: fork failed: ", std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);  // the terminal's Ctrl-C reaches the sweep alone, which stops its points in order
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> args, envp;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    execvpe(args[0], args.data(), envp.data());
    std::fprintf(stderr, "sweep: cannot start %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  return pid;
}

// A point that ended without writing its own final record (killed, or not started) gets one here,
// so the next run knows what happened.
// A point the sweep itself stopped before it could checkpoint (still loading) is stopped, not failed.
void settle_record(const LocalPoint& p, int code, bool stopped_by_sweep) {
  nlohmann::json rec = read_point_record(p.dir);
  if (rec.is_object() && rec.value("state", "") != "running") return;
  if (!rec.is_object()) rec = {{"name", p.name}};
  rec["state"] = code == DataParallelGroup::exit_code_stopped() || stopped_by_sweep ? "stopped" : "failed";
  rec["exit_code"] = code;
  if (!rec.contains("error"))
    rec["error"] = code > 128 ? "killed by signal " + std::to_string(code - 128) : "exit code " + std::to_string(code);
  write_point_record(p.dir, rec);
}

}  // namespace

std::vector<std::string> mpi_job_variable_names() {
  std::vector<std::string> names;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    if (is_mpi_job_variable(name)) names.push_back(name);
  }
  return names;
}

std::vector<std::string> child_environment(int threads) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    if (is_mpi_job_variable(name) || name == "SEQMEND_THREADS" || name == "OMP_NUM_THREADS" ||
        name == "OPENBLAS_NUM_THREADS")
      continue;
    env.push_back(kv);
  }
  const std::string t = std::to_string(std::max(1, threads));
  for (const char* n : {"SEQMEND_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"}) env.push_back(n + ("=" + t));
  return env;
}

std::vector<LocalOutcome> run_points_locally(const std::vector<LocalPoint>& points, const LocalRunOptions& opts,
                                             bool& interrupted) {
  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  g_signals = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  const std::vector<std::string> env = child_environment(opts.threads_per_rank);
  std::deque<LocalPoint> queue(points.begin(), points.end());
  std::vector<Running> running;
  std::vector<LocalOutcome> out;
  int signalled = 0;  // how many signals the children have been told about
  const size_t width = std::max(1, opts.jobs);
  while (!queue.empty() || !running.empty()) {
    if (g_signals > signalled) {
      // First signal: the points checkpoint and stop; another: they are killed.
      const bool kill_now = signalled > 0;
      signalled = g_signals;
      std::printf("sweep: %s; %s %zu running point(s)%s\n", kill_now ? "interrupted again" : "interrupted",
                  kill_now ? "killing" : "stopping (checkpoint, then exit)", running.size(),
                  kill_now ? "" : "; Ctrl-C again to kill them");
      std::fflush(stdout);
      for (const auto& r : running) kill_now ? (void)kill(-r.pid, SIGKILL) : (void)kill(r.pid, SIGUSR1);
      queue.clear();
    }
    while (g_signals == 0 && running.size() < width && !queue.empty()) {
      Running r{queue.front(), -1, std::chrono::steady_clock::now()};
      queue.pop_front();
      r.pid = spawn(r.point, opts, env);
      std::printf("sweep: started %s (pid %d, log %s/sweep.log)\n", r.point.name.c_str(), int(r.pid),
                  r.point.dir.c_str());
      std::fflush(stdout);
      running.push_back(r);
    }
    int status = 0;
    const pid_t done = waitpid(-1, &status, WNOHANG);
    if (done <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (size_t i = 0; i < running.size(); ++i) {
      if (running[i].pid != done) continue;
      LocalOutcome o;
      o.name = running[i].point.name;
      o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - running[i].start).count();
      if (o.exit_code != 0) settle_record(running[i].point, o.exit_code, signalled > 0);
      std::error_code ec;
      if (const std::string session = point_session_base(running[i].point); !session.empty())
        fs::remove_all(session, ec);
      if (opts.on_finished) opts.on_finished(o);
      out.push_back(o);
      running.erase(running.begin() + long(i));
      break;
    }
  }
  interrupted = g_signals > 0;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return out;
}

}  // namespace seqmend
