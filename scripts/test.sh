#!/usr/bin/env bash
# The project's one test command (README, .ci/run): format, vet, staticcheck,
# the race-enabled test suite, and short bounded fuzzing of the study parser
# and the GGUF reader.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tools the checks run are built, pinned, into a project-local folder on
# first use, so this script is all the set-up a fresh machine needs (Go and
# a C compiler); the module proxy must be reachable that first time.
tools="$PWD/.tools/bin"
staticcheck_version=v0.8.2
if [ ! -x "$tools/staticcheck-$staticcheck_version" ]; then
  echo "== installing staticcheck $staticcheck_version into .tools/bin"
  GOBIN="$tools" go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
  mv "$tools/staticcheck" "$tools/staticcheck-$staticcheck_version"
fi
# go-nvml's header marks some functions deprecated; the warnings are noise.
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -Wno-deprecated-declarations"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
"$tools/staticcheck-$staticcheck_version" ./...

echo "== go test -race"
go test -race -timeout 20m ./...

echo "== fuzz (study parser, GGUF reader; bounded)"
# Budgets are execution counts, not durations: with a duration, Go 1.26's
# fuzz coordinator can report a spurious "context deadline exceeded" when
# the time runs out while a worker is mid-input (go.dev/issue/75804, fixed
# in Go 1.27). About 15-20 s each on 2 cores. -fuzzminimizetime bounds the
# minimisation of a new interesting or crashing input (default 60 s each),
# so one large input cannot eat the budget; each run prints how many inputs
# it executed, and fails if it cannot tell.
fuzz() { # fuzz NAME PACKAGE
	local log rc=0
	log=$(mktemp)
	go test -run '^$' -fuzz "^$1\$" -fuzztime "${LLEM_FUZZTIME:-200000x}" -fuzzminimizetime "${LLEM_FUZZMINIMIZETIME:-200x}" "$2" 2>&1 | tee "$log" || rc=$?
	local execs
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	rm -f "$log"
	[ "$rc" -eq 0 ] || return "$rc"
	if [ -z "$execs" ]; then
		echo "fuzz $1: no execution count in the output" >&2
		return 1
	fi
	echo "fuzz $1: $execs executions"
}
fuzz FuzzParse ./config/
fuzz FuzzGGUF ./internal/engine/native/

echo "== all checks passed"
