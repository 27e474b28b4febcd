#!/usr/bin/env bash
# Allocation budget gate: builds the benchmarks, runs them once with the quick in-process job and checks the
# bytes allocated per operation against bench/allocation-budget.json. Prints PASS/FAIL per benchmark and exits
# non-zero when one is over its budget (or has no budget, or no result).
#   bench/run-alloc-gate.sh [extra BenchmarkDotNet arguments, e.g. --filter '*DecodeRate*']
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$root/bench/RatingPipeline.Benchmarks"
artifacts="$(mktemp -d "${TMPDIR:-/tmp}/alloc-gate.XXXXXX")"
trap 'rm -rf "$artifacts"' EXIT

dotnet build "$project" -c Release --nologo -v quiet -clp:NoSummary
dll="$project/bin/Release/net10.0/RatingPipeline.Benchmarks.dll"

filter=(--filter '*')
if [[ " $* " == *" --filter "* ]]; then
    filter=()
fi

# The benchmark log goes to a file; only the verdicts are printed (the log is shown when the run itself fails).
if ! dotnet "$dll" --gate "${filter[@]}" "$@" --artifacts "$artifacts" > "$artifacts/run.log" 2>&1; then
    cat "$artifacts/run.log"
    echo "allocation budget: FAIL (the benchmark run failed)"
    exit 1
fi

grep -E '^\| (Method|[A-Za-z]+ +\|)' "$artifacts/run.log" | grep -v -- '---' || true
dotnet "$dll" --check-budget "$artifacts/results" --budget "$root/bench/allocation-budget.json"
