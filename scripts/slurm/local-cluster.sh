#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying scripts/slurm/sweep.sbatch and for the test
# suite: munged + slurmctld + slurmd on localhost, no cgroups (ProctrackType=proctrack/linuxproc,
# TaskPlugin=task/none), state and config in one directory.
#
#   scripts/slurm/local-cluster.sh start [DIR]   # prints "export SLURM_CONF=DIR/slurm.conf"
#   scripts/slurm/local-cluster.sh status [DIR]
#   scripts/slurm/local-cluster.sh stop [DIR]
#
# Needs Debian's slurm-wlm and munge (apt-get install slurm-wlm munge) and root (slurmd runs jobs as
# their submitting user; munged needs its key). DIR defaults to /tmp/ufm-slurm. Exit status 0 when
# the node is up (start) / running (status); 1 with the reason on stderr otherwise.
set -euo pipefail

cmd=${1:-}
dir=${2:-/tmp/ufm-slurm}
die() { echo "local-cluster.sh: $*" >&2; exit 1; }

stop_pidfile() {  # kills the process whose pid the file names (only that one), waits for it
  local f=$1
  [[ -s $f ]] || return 0
  local pid
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}

case $cmd in
start)
  for tool in munged slurmctld slurmd sinfo scontrol; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install slurm-wlm munge)"
  done
  [[ $(id -u) == 0 ]] || die "needs root (slurmd starts jobs as their user; munged reads its key)"
  mkdir -p "$dir"/{spool/ctld,spool/d,log,munge}
  chmod 755 "$dir"
  # munge: a key of our own and a socket in DIR, so a system munged (if any) is not disturbed.
  key=$dir/munge/munge.key
  if [[ ! -s $key ]]; then
    if command -v mungekey >/dev/null; then mungekey --create --keyfile="$key" --force >/dev/null
    else dd if=/dev/urandom of="$key" bs=1024 count=1 status=none; fi
  fi
  chmod 700 "$dir/munge"; chmod 600 "$key"
  socket=$dir/munge/munge.socket
  if ! [[ -S $socket ]] || ! [[ -s $dir/munge/munged.pid ]] || ! kill -0 "$(cat "$dir/munge/munged.pid")" 2>/dev/null; then
    munged --force --key-file="$key" --socket="$socket" --pid-file="$dir/munge/munged.pid" \
      --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" ||
      die "munged did not start (see $dir/log/munged.log)"
  fi
  host=$(hostname -s)
  port=${UFM_SLURM_PORT:-16817}
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
  cat >"$dir/slurm.conf" <<CONF
ClusterName=ufmlocal
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/spool/ctld
SlurmdSpoolDir=$dir/spool/d
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
  export SLURM_CONF=$dir/slurm.conf
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/slurmd.pid"
  slurmctld -c -f "$SLURM_CONF" || die "slurmctld did not start (see $dir/log/slurmctld.log)"
  slurmd -f "$SLURM_CONF" || die "slurmd did not start (see $dir/log/slurmd.log)"
  for _ in $(seq 100); do
    state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
    case $state in idle*|mixed*|allocated*) echo "export SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
    sleep 0.2
  done
  die "the node did not come up (state '${state:-none}'); see $dir/log/slurmctld.log and $dir/log/slurmd.log"
  ;;
status)
  export SLURM_CONF=$dir/slurm.conf
  [[ -s $SLURM_CONF ]] || die "no cluster in $dir"
  sinfo
  ;;
stop)
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/munge/munged.pid"
  ;;
*)
  echo "usage: $0 start|status|stop [DIR]" >&2
  exit 2
  ;;
esac
