#!/usr/bin/env bash
# local-cluster.sh - a throw-away one-node Slurm cluster on this machine, for tests and for trying
# the sbatch scripts before a real cluster: munged + slurmctld + slurmd as root, no systemd, no
# cgroups, no accounting. Config, state, logs and pid files live under one directory.
#
#   slurm/local-cluster.sh start    # installs Slurm/munge via apt when missing; idempotent; waits
#                                   # until the node is idle
#   slurm/local-cluster.sh status   # exit 0 when all daemons run and the node answers
#   slurm/local-cluster.sh stop     # stops only the daemons it started (by pid); idempotent
#   slurm/local-cluster.sh env      # prints the export line srun/sbatch/sinfo need
#
# Then:  export SLURM_CONF=$(slurm/local-cluster.sh conf)   # or eval "$(slurm/local-cluster.sh env)"
#        srun -n 2 --mpi=pmix ./build/experiments/seqmend info
#
# Facts this relies on (Debian 12: slurm-wlm 22.05, munge 0.5.15, OpenMPI 4.1, PMIx 4.2):
#  - Debian's OpenMPI is built without Slurm's PMI-1/PMI-2, so only `srun --mpi=pmix` makes the
#    tasks one MPI world; without it every task is a world of one (the fingerprint check catches it).
#  - munged refuses to run as root with munge-owned files, so it runs as the munge user.
#  - `srun -n` above the CPU count waits forever, so the node declares more CPUs than it has
#    (SlurmdParameters=config_overrides), enough for the oversubscribed MPI tests.
#
# Exit codes: 0 ok, 1 failure, 3 Slurm cannot run here (not root, or packages cannot be installed);
# tests map 3 to "skipped".
#
# Knobs: SEQMEND_SLURM_DIR (default ${TMPDIR:-/tmp}/seqmend-slurm), SEQMEND_SLURM_CPUS (default the
# larger of nproc and 8), SEQMEND_SLURM_PORT (slurmctld port, slurmd uses +1; default 16817, away
# from a real installation's 6817), SEQMEND_SLURM_TIMEOUT (seconds to wait for idle, default 60).
set -euo pipefail

DIR=${SEQMEND_SLURM_DIR:-${TMPDIR:-/tmp}/seqmend-slurm}
CONF=$DIR/slurm.conf
PORT=${SEQMEND_SLURM_PORT:-16817}
TIMEOUT=${SEQMEND_SLURM_TIMEOUT:-60}
CTLD_PID=$DIR/slurmctld.pid
SLURMD_PID=$DIR/slurmd.pid
MUNGE_SOCK=/run/munge/munge.socket.2
MUNGE_PID=/run/munge/munged.pid
MUNGE_OURS=$DIR/munged.started-here
PACKAGES=(slurmctld slurmd slurm-client munge libpmix2)

log() { echo "[local-cluster] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
cannot() { log "cannot run Slurm here: $*"; exit 3; }

# running PIDFILE NAME: the pid in PIDFILE is alive and is program NAME (pids get reused).
running() {
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && [[ "$(ps -p "$pid" -o comm= 2>/dev/null)" == "$2" ]]
}

pmix_plugin() { compgen -G '/usr/lib/*/slurm-wlm/mpi_pmix*.so' >/dev/null || compgen -G '/usr/lib*/slurm/mpi_pmix*.so' >/dev/null; }

ensure_installed() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if (( ${#missing[@]} )); then
    command -v apt-get >/dev/null || cannot "missing ${missing[*]} and no apt-get"
    log "installing ${missing[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"; } >"$DIR/apt.log" 2>&1 || cannot "apt-get install ${missing[*]} failed (see $DIR/apt.log)"
  fi
  pmix_plugin || cannot "Slurm's mpi_pmix plugin is missing (slurm-wlm-basic-plugins with libpmix2)"
}

# Runs a daemon with every descriptor above stderr closed: a daemon that inherited the lock below
# (or a caller's) would hold it for as long as it lives.
daemon() {
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      (( fd > 2 )) && eval "exec $fd>&-"
    done
    exec "$@"
  )
}

munge_ok() { [[ -S $MUNGE_SOCK ]] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  if munge_ok; then return; fi
  install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
  install -d -o munge -g munge -m 0711 /var/lib/munge
  install -d -o munge -g munge -m 0755 /run/munge
  if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating /etc/munge/munge.key"
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  daemon runuser -u munge -- /usr/sbin/munged
  : >"$MUNGE_OURS"
  for _ in $(seq 50); do munge_ok && return; sleep 0.1; done
  die "munged did not come up (see /var/log/munge/munged.log)"
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=${SEQMEND_SLURM_CPUS:-$(( $(nproc) > 8 ? $(nproc) : 8 ))}
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  cat >"$CONF" <<CONF
# written by seqmend slurm/local-cluster.sh: one-node cluster for tests, state under $DIR
ClusterName=seqmend-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=$PORT
SlurmdPort=$(( PORT + 1 ))
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
MailProg=/bin/true
# No cgroups in a container: plain process tracking, no binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
SlurmdTimeout=300
InactiveLimit=0
KillWait=5
MinJobAge=300
# More CPUs than the machine has, so srun -n 2 on a 2-core runner (or -n 4) does not wait forever.
SlurmdParameters=config_overrides
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

node_state() { SLURM_CONF=$CONF sinfo -h -N -n "$(hostname -s)" -o %t 2>/dev/null || true; }

wait_idle() {
  local state="" host
  host=$(hostname -s)
  for _ in $(seq $(( TIMEOUT * 5 ))); do
    state=$(node_state)
    case $state in
      idle|mix|alloc) log "node $host is $state"; return 0 ;;
      drain*|down*|drng) SLURM_CONF=$CONF scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
    esac
    sleep 0.2
  done
  log "node not idle after ${TIMEOUT}s (state '$state'); last log lines:"
  tail -n 15 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  return 1
}

# stop_daemons PIDFILE:NAME ...: TERM them all at once (each takes ~2 s to exit), KILL leftovers.
stop_daemons() {
  local spec pids=() names=() k alive
  for spec in "$@"; do
    if running "${spec%%:*}" "${spec##*:}"; then
      pids+=("$(<"${spec%%:*}")"); names+=("${spec##*:}")
      log "stopping ${spec##*:} (pid ${pids[-1]})"
      kill -TERM "${pids[-1]}" 2>/dev/null || true
    fi
    rm -f "${spec%%:*}"
  done
  for _ in $(seq 100); do
    alive=0
    for k in "${!pids[@]}"; do
      [[ "$(ps -p "${pids[$k]}" -o comm= 2>/dev/null)" == "${names[$k]}" ]] && alive=1
    done
    (( alive )) || return 0
    sleep 0.1
  done
  for k in "${!pids[@]}"; do
    if [[ "$(ps -p "${pids[$k]}" -o comm= 2>/dev/null)" == "${names[$k]}" ]]; then
      log "${names[$k]} (pid ${pids[$k]}) ignored TERM, sending KILL"
      kill -KILL "${pids[$k]}" 2>/dev/null || true
    fi
  done
}

cmd_start() {
  [[ $(id -u) == 0 ]] || cannot "the daemons must run as root (got uid $(id -u))"
  local t0=$SECONDS
  mkdir -p "$DIR/log"
  ensure_installed
  start_munge
  if running "$CTLD_PID" slurmctld && running "$SLURMD_PID" slurmd; then
    log "already running"
  else
    stop_daemons "$SLURMD_PID:slurmd" "$CTLD_PID:slurmctld"  # a half-started cluster starts over
    rm -rf "$DIR/state" "$DIR/spool"
    mkdir -p "$DIR/state" "$DIR/spool"
    write_conf
    daemon /usr/sbin/slurmctld -c -f "$CONF" || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
    daemon /usr/sbin/slurmd -f "$CONF" || die "slurmd did not start (see $DIR/log/slurmd.log)"
  fi
  wait_idle || die "cluster not ready"
  log "ready after $(( SECONDS - t0 ))s; export SLURM_CONF=$CONF"
}

cmd_stop() {
  [[ $(id -u) == 0 ]] || cannot "must run as root"
  local specs=("$SLURMD_PID:slurmd" "$CTLD_PID:slurmctld")
  [[ -e $MUNGE_OURS ]] && specs+=("$MUNGE_PID:munged")  # a munged that was already there stays
  stop_daemons "${specs[@]}"
  rm -f "$MUNGE_OURS"
  rm -rf "$DIR/state" "$DIR/spool"
  log "stopped (logs kept in $DIR/log)"
}

cmd_status() {
  local rc=0
  munge_ok && echo "munged: running" || { echo "munged: not running"; rc=1; }
  running "$CTLD_PID" slurmctld && echo "slurmctld: running (pid $(<"$CTLD_PID"))" || { echo "slurmctld: not running"; rc=1; }
  running "$SLURMD_PID" slurmd && echo "slurmd: running (pid $(<"$SLURMD_PID"))" || { echo "slurmd: not running"; rc=1; }
  if (( rc == 0 )); then echo "node: $(node_state)"; echo "SLURM_CONF=$CONF"; fi
  return $rc
}

# start and stop hold a lock: two test runs (two build directories) must not tear down each other's
# half-started cluster.
with_lock() {
  mkdir -p "$DIR"
  exec 9>"$DIR.lock"
  flock -w 120 9 || die "another local-cluster.sh holds $DIR.lock"
  "$@"
}

case ${1:-} in
  start) with_lock cmd_start ;;
  stop) with_lock cmd_stop ;;
  restart) with_lock cmd_stop; with_lock cmd_start ;;
  status) cmd_status ;;
  conf) echo "$CONF" ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 {start|stop|status|restart|conf|env}" >&2; exit 2 ;;
esac
