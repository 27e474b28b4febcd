#!/usr/bin/env bash
# Allocation budget gate: builds the benchmarks, runs them once with the quick in-process job and checks the
# bytes allocated per operation against bench/allocation-budget.json. Prints PASS/FAIL per benchmark and exits
# non-zero when one is over its budget (or has no budget, or no result). A run that fails the budget is run once
# more, and the gate fails only when that second run fails too: the figures count what the whole process allocates
# during a measured iteration, so a one-off allocation of the runtime's on another thread can push a benchmark to
# 1-2 B per operation once (seen on a machine busy with a build), while an allocation of the code per record shows
# in every run.
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

# One run of the gate into "$artifacts/$1": the benchmark log goes to a file; only the verdicts are printed (the log
# is shown when the run itself fails, which fails the gate at once).
gate_run() {
    local out="$artifacts/$1"
    mkdir -p "$out"
    if ! dotnet "$dll" --gate "${filter[@]}" "${args[@]}" --artifacts "$out" > "$out/run.log" 2>&1; then
        cat "$out/run.log"
        echo "allocation budget: FAIL (the benchmark run failed)"
        exit 1
    fi

    grep -E '^\| (Method|[A-Za-z]+ +\|)' "$out/run.log" | grep -v -- '---' || true
    dotnet "$dll" --check-budget "$out/results" --budget "$root/bench/allocation-budget.json"
}

args=("$@")
if gate_run first; then
    exit 0
fi

echo "allocation budget: the first run failed; running the gate once more (it fails only if this run fails too)"
gate_run second
