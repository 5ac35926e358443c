#!/bin/sh
# Start podman's Docker Engine API service for llem's container tests, with
# a busybox image imported as localhost/bb:1 and a Python image as
# localhost/llem-python:1, and print the socket path.
# Usage (as root, Debian 12):
#   SOCK=$(scripts/podman-service.sh)
#   LLEM_TEST_DOCKER_HOST=unix://$SOCK go test ./internal/container/
#   kill "$(cat "$(dirname "$SOCK")/podman.pid")"
# The settings below are the ones podman needs on this kind of machine
# (see PEERS.md): runc instead of crun, cgroupfs, explicit ulimits.
set -eu

if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! [ -x /bin/busybox ]; then
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc busybox-static >&2
fi

conf=/etc/containers/containers.conf
if ! grep -q 'runtime = "runc"' "$conf" 2>/dev/null; then
	mkdir -p /etc/containers
	cat >"$conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
fi

if ! podman image exists localhost/bb:1; then
	root=$(mktemp -d)
	mkdir -p "$root/bin"
	cp /bin/busybox "$root/bin/"
	for app in sh cat echo sleep env ls; do ln -s busybox "$root/bin/$app"; done
	tar -C "$root" -c . | podman import - localhost/bb:1 >&2
	rm -rf "$root"
fi

# A Python image made from the host's Debian python3 (no registry is needed):
# the interpreter, the libraries it links and its standard library.
if ! podman image exists localhost/llem-python:1 && [ -x /usr/bin/python3.11 ]; then
	root=$(mktemp -d)
	mkdir -p "$root/usr/bin" "$root/usr/lib" "$root/bin" "$root/tmp"
	cp /usr/bin/python3.11 "$root/usr/bin/"
	ln -s python3.11 "$root/usr/bin/python3"
	cp /bin/busybox "$root/bin/" && ln -s busybox "$root/bin/sh"
	for lib in $(ldd /usr/bin/python3.11 | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	tar -C /usr/lib --exclude=test --exclude=idlelib --exclude=tkinter --exclude=__pycache__ \
		--exclude=ensurepip -c python3.11 | tar -C "$root/usr/lib" -x
	tar -C "$root" -c . | podman import - localhost/llem-python:1 >&2
	rm -rf "$root"
fi

dir=$(mktemp -d)
sock=$dir/podman.sock
podman system service --time=0 "unix://$sock" >"$dir/podman.log" 2>&1 &
echo $! >"$dir/podman.pid"
i=0
while ! [ -S "$sock" ]; do
	i=$((i + 1))
	if [ "$i" -gt 100 ]; then
		echo "podman service did not create $sock; log:" >&2
		cat "$dir/podman.log" >&2
		exit 1
	fi
	sleep 0.1
done
echo "$sock"
