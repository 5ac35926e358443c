#!/bin/sh
# Set up and start a one-node Slurm cluster on this machine, for
# `llem run --scheduler slurm` and its integration test (docs/slurm.md).
# Idempotent: installs slurm-wlm and munge when missing, writes the config
# when missing, starts each daemon only when its pid file names no live
# process, and waits until `sinfo` shows the node idle. Prints "ok" on
# stdout and nothing else; everything else goes to stderr. Stops nothing.
# Usage (as root, Debian 12):
#   scripts/slurm-cluster.sh
#   LLEM_TEST_SLURM=1 go test -run TestSlurmEndToEnd ./internal/cli/
#   for p in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do kill "$(cat $p)"; done
set -eu

if [ "$(id -u)" != 0 ]; then
	echo "slurm-cluster.sh: run as root (it installs packages and starts daemons)" >&2
	exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >&2
fi

mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
chown munge:munge /run/munge /var/log/munge /var/lib/munge
test -f /etc/munge/munge.key || mungekey -c >&2
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key

# running PIDFILE: the pid file names a live process.
running() {
	[ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

if ! running /run/munge/munged.pid; then
	runuser -u munge -- munged >&2
fi

conf=/etc/slurm/slurm.conf
if [ ! -f "$conf" ]; then
	host=$(hostname)
	node=$(slurmd -C | head -1)
	cat >"$conf" <<CONF
# One-node cluster written by llem's scripts/slurm-cluster.sh.
ClusterName=llem
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$node
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
fi

if ! running /run/slurmctld.pid; then
	slurmctld >&2
fi
if ! running /run/slurmd.pid; then
	slurmd >&2
fi

i=0
until sinfo -h -o %T 2>/dev/null | grep -qx idle; do
	i=$((i + 1))
	if [ "$i" -gt 60 ]; then
		echo "slurm-cluster.sh: the node is not idle after 60 s; sinfo says:" >&2
		sinfo >&2 || true
		echo "see /var/log/slurm/slurmctld.log and slurmd.log" >&2
		exit 1
	fi
	sleep 1
done
echo ok
