#!/usr/bin/env bash
# Every figure of bench/README.md in one run, each step with the baseline it is compared with measured in the
# same run, one after the other (never two at once: they would measure each other). Writes one log per step and
# a summary into OUT (default: a new folder under /tmp) and prints where.
#   bench/run-all.sh                 # everything, full sizes (about an hour on a 2-core machine)
#   QUICK=1 bench/run-all.sh         # smaller sizes and shorter runs (about 15 minutes)
#   STEPS="scale faults" bench/run-all.sh   # a subset: micro alloc rate rerate scale faults
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/ratingpipeline-bench.XXXXXX")}"
steps="${STEPS:-micro alloc rate rerate scale faults}"
quick="${QUICK:-0}"
mkdir -p "$out"
cd "$root"

machine() {
    echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo n/a)"
    echo "cpu:      $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) CPUs"
    echo "memory:   $(free -g | awk '/^Mem:/ {print $2 " GB"}')"
    echo "dotnet:   SDK $(dotnet --version), $(dotnet --list-runtimes | grep NETCore.App | tail -1 | cut -d' ' -f1-2)"
    echo "kcat:     $(command -v kcat > /dev/null && kcat -V 2>&1 | grep -m1 "^Version" || echo "not installed (the kcat ceiling is skipped)")"
    echo "load:     $(cut -d' ' -f1-3 /proc/loadavg)"
}

machine | tee "$out/machine.txt"
echo "building (Release)"
dotnet build RatingPipeline.sln -c Release --nologo -v quiet -clp:NoSummary > "$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }

failed=()
run() {
    local name="$1"; shift
    echo
    echo "=== $name: $* (load $(cut -d' ' -f1 /proc/loadavg))"
    if "$@" 2>&1 | tee "$out/$name.log"; then :; else failed+=("$name"); fi
}

bdn=bench/RatingPipeline.Benchmarks/bin/Release/net10.0/RatingPipeline.Benchmarks.dll
for step in $steps; do
    case "$step" in
        micro)
            # Per CDR: decode, rate, write against the bare Utf8JsonReader pass and the straightforward
            # System.Text.Json implementation, timed by the benchmark thread's CPU time.
            run micro dotnet "$bdn" --cpu-time --filter '*' --artifacts "$out/bdn-cpu" ;;
        alloc)
            run alloc bench/run-alloc-gate.sh ;;
        rate)
            # ratingctl rate end to end against wc -l / cat of the same file.
            if [[ "$quick" == 1 ]]; then
                run rate env RUNS=3 CDRS=200000 SUBSCRIBERS=20000 bench/rate-throughput.sh
            else
                run rate bench/rate-throughput.sh
            fi ;;
        rerate)
            # ratingctl rerate end to end, one lane against one per core.
            if [[ "$quick" == 1 ]]; then
                run rerate env RUNS=3 CDRS=200000 SUBSCRIBERS=20000 bench/rerate-throughput.sh
            else
                run rerate bench/rerate-throughput.sh
            fi ;;
        scale)
            # State memory, restore time, Kafka throughput against passthrough and kcat, latency, tariff size.
            if [[ "$quick" == 1 ]]; then
                run scale dotnet bench/RatingPipeline.Scale/bin/Release/net10.0/RatingPipeline.Scale.dll --quick
            else
                run scale dotnet bench/RatingPipeline.Scale/bin/Release/net10.0/RatingPipeline.Scale.dll --cdrs 1000000
            fi ;;
        faults)
            # The fault suite, proven against the offline run of the same input.
            if [[ "$quick" == 1 ]]; then
                run faults dotnet bench/RatingPipeline.FaultSuite/bin/Release/net10.0/RatingPipeline.FaultSuite.dll --mode ci --work-dir "$out/faults"
            else
                run faults dotnet bench/RatingPipeline.FaultSuite/bin/Release/net10.0/RatingPipeline.FaultSuite.dll --mode full --work-dir "$out/faults"
            fi ;;
        *)
            echo "unknown step '$step' (micro alloc rate rerate scale faults)" >&2
            exit 2 ;;
    esac
done

echo
echo "logs in $out"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "failed: ${failed[*]}"
    exit 1
fi
