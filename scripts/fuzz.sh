#!/usr/bin/env bash
# Runs every fuzz target of the project for a while: `go test -fuzz` takes one target per invocation, so this
# loops over the list below. Usage: scripts/fuzz.sh [fuzztime per target, default 4s]
#   make test   runs it briefly (4 s a target), so that a regression of a property fails CI;
#   make fuzz   runs it longer (FUZZTIME, default 60 s a target).
# A failure writes its input to <package>/testdata/fuzz/<target>/ (commit it: it becomes a regression seed
# that every `go test` runs) and fails the run after all targets were tried.
set -uo pipefail

FUZZTIME="${1:-4s}"
GO="${GO:-go}"
# How long the fuzzer may spend shrinking each new input; short in the brief runs so they fuzz, not shrink.
MINIMIZE="${FUZZMINIMIZETIME:-1s}"

# package                          target
TARGETS=(
  "./shared/httpapi                 FuzzParseSignup"
  "./shared/webhook                 FuzzParse"
  "./shared/webhook                 FuzzVerify"
  "./shared/webhook                 FuzzIntake"
  "./shared/asl                     FuzzPath"
  "./shared/asl/engine              FuzzParse"
  "./shared/graph                   FuzzErrorResponse"
  "./shared/apigw                   FuzzRequest"
  "./shared/vault/secretsmanager    FuzzParseSecret"
)

failed=()
summary=()
start_all=$SECONDS
for entry in "${TARGETS[@]}"; do
  read -r pkg target <<<"$entry"
  start=$SECONDS
  log=$(mktemp)
  fuzz() { "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$MINIMIZE" "$pkg" >"$log" 2>&1; }
  ok=0
  if fuzz; then
    ok=1
  elif grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written to' "$log"; then
    # The fuzzing engine itself sometimes reports its own -fuzztime deadline as a failure when a worker is
    # slow to answer on a loaded machine: no input failed, nothing was written. Such a run is tried again
    # once; a real failure writes its input and is never retried.
    echo "$pkg $target: the fuzzing engine hit its own deadline (no failing input); trying again"
    fuzz && ok=1
  fi
  if ((ok)); then
    result="ok"
  else
    result="FAIL"
    failed+=("$pkg $target")
    cat "$log"
  fi
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  rm -f "$log"
  summary+=("$(printf '%-4s %-30s %-18s %4ss %10s execs' "$result" "$pkg" "$target" "$((SECONDS - start))" "${execs:-?}")")
done

printf 'fuzz targets, %s each:\n' "$FUZZTIME"
printf '  %s\n' "${summary[@]}"
printf 'total %ss\n' "$((SECONDS - start_all))"
if ((${#failed[@]})); then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
