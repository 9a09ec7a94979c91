# Sourced by the Slurm tests (srun_test.sh, pretrain_slurm_test.sh) after they define fail():
# the environment of the one-node cluster slurm/local-cluster.sh brings up, and its start.
#   slurm_test_prelude   root check (else exit 77), then the per-machine test lock
#   ensure_cluster       reuse a running cluster, or start one (started_here=1; exit 77 when Slurm
#                        cannot be installed or started here)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER=$ROOT/slurm/local-cluster.sh
export SEQMEND_SLURM_DIR=${SEQMEND_SLURM_DIR:-${TMPDIR:-/tmp}/seqmend-slurm}
export SLURM_CONF=$SEQMEND_SLURM_DIR/slurm.conf
started_here=0

slurm_test_prelude() {
  [[ $(id -u) == 0 ]] || { echo "SKIP: the local Slurm cluster needs root (uid $(id -u))"; exit 77; }
  # One Slurm test at a time per machine (several build directories may run ctest at once), for the
  # whole test: otherwise one run could stop the cluster under the other's jobs.
  mkdir -p "$(dirname "$SEQMEND_SLURM_DIR")"
  exec 8>"$SEQMEND_SLURM_DIR.test.lock"
  flock -w 240 8 || fail "another Slurm test holds $SEQMEND_SLURM_DIR.test.lock"
}

ensure_cluster() {
  if "$CLUSTER" status >/dev/null 2>&1; then
    echo "using the local cluster that is already running (left running afterwards)"
    return
  fi
  started_here=1
  "$CLUSTER" start
  local rc=$?
  if (( rc == 3 )); then echo "SKIP: Slurm cannot be installed or started on this machine"; exit 77; fi
  (( rc == 0 )) || fail "slurm/local-cluster.sh start exited $rc"
}
