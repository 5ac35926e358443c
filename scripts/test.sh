#!/usr/bin/env bash
# The project's one test command (README, .ci/run): format, vet, staticcheck,
# the race-enabled test suite, and short bounded fuzzing of the study parser
# and the GGUF reader.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"
# go-nvml's header marks some functions deprecated; the warnings are noise.
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -Wno-deprecated-declarations"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
staticcheck ./...

echo "== go test -race"
go test -race -timeout 20m ./...

echo "== fuzz (study parser, GGUF reader; bounded)"
go test -run '^$' -fuzz '^FuzzParse$' -fuzztime "${LLEM_FUZZTIME:-20s}" ./config/
go test -run '^$' -fuzz '^FuzzGGUF$' -fuzztime "${LLEM_FUZZTIME:-20s}" ./internal/engine/native/

echo "== all checks passed"
