#!/usr/bin/env bash
# End-to-end throughput of `ratingctl rerate`: publishes ratingctl in Release (ReadyToRun), generates a synthetic data
# set once (100,000 subscribers, 1,000,000 CDRs, seed 42), rates it once with the generated tariff (the old rated
# records), then re-rates it under a late whitelist change (the 2026 Apple activation ports zero-rated from 2012, a new
# version) with one lane and with the default lanes (one per core), alternating, each run into a fresh ledger; prints
# CDRs/s per run and the medians, and checks that every output file is byte-identical between the two. After each
# run with the default lanes, the same re-rate told the old tariff (--old-tariff: only zeroRated changed, so only the
# subscribers the change touches are replayed), whose ledger and mismatches must be the full replay's bytes; with
# ratingctl-native beside ratingctl (which then runs every re-rate over files), that re-rate again in ratingctl's own
# process (RATINGCTL_NATIVE=0), for the pair.
#   bench/rerate-throughput.sh            # RUNS=3 SUBSCRIBERS=100000 CDRS=1000000 SEED=42 by default
#   RUNS=5 CDRS=200000 bench/rerate-throughput.sh
#   KEEP=1 bench/rerate-throughput.sh     # keep the data set and outputs (path printed)
#   R2R=0 bench/rerate-throughput.sh      # the plain build output instead of the ReadyToRun publish
#   BASELINE=/tmp/base/ratingctl bench/rerate-throughput.sh   # also an earlier build, before each run on the same data
#                                         # (same lanes, same fresh ledger); its outputs must be byte-identical
set -euo pipefail

[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time" >&2; exit 2; }

runs="${RUNS:-3}"
subscribers="${SUBSCRIBERS:-100000}"
cdrs="${CDRS:-1000000}"
seed="${SEED:-42}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/rerate-throughput.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then
    trap 'rm -rf "$work"' EXIT
fi

source "$root/bench/lib.sh"
build_ratingctl

echo "generating $cdrs CDRs for $subscribers subscribers (seed $seed) in $work/data, and rating them once"
"$ratingctl" generate --subscribers "$subscribers" --cdrs "$cdrs" --seed "$seed" --out "$work/data" > /dev/null
"$ratingctl" rate --tariff "$work/data/tariff.json" --subscribers "$work/data/subscribers.jsonl" --cdrs "$work/data/cdrs.jsonl" \
    --out "$work/old" --no-progress > /dev/null
input="$work/data/cdrs.jsonl"
lines=$(wc -l < "$input")
rated=$(wc -l < "$work/old/rated.jsonl")

# The late whitelist change: the Apple activation ports of 2026 zero-rated from 2012, under a new version.
sed -e 's/"version": "[^"]*"/"version": "rerate-bench.1"/' \
    -e '/"pattern": "0044753741039\*"/,/"reason"/ s/"from": "[^"]*"/"from": "2012-05-20T00:00:00+08:00"/' \
    "$work/data/tariff.json" > "$work/new-tariff.json"
cmp -s "$work/data/tariff.json" "$work/new-tariff.json" && { echo "the tariff change did not apply" >&2; exit 1; }


# Prints "wall user sys rss summary" of one re-rate with the given lanes into a fresh "$work/out-$lanes" (with a third
# argument: that ratingctl instead, into "$work/base-$lanes").
rerate_run() {
    local lanes="$1" binary="${2:-$ratingctl}" out="$work/out-$1"
    [[ -n "${2:-}" ]] && out="$work/base-$1"
    rm -rf "$out"
    read -r wall user sys rss < <(measure "$binary" rerate --tariff "$work/new-tariff.json" --subscribers "$work/data/subscribers.jsonl" \
        --rated "$work/old/rated.jsonl" --cdrs "$input" --out "$out" --lanes "$lanes")
    echo "$wall $user $sys $rss $(cat "$work/stdout.txt")"
}

# Prints "wall user sys rss summary" of the re-rate told the old tariff (default lanes) into a fresh "$work/scoped"
# (with an argument: that value of RATINGCTL_NATIVE).
scoped_run() {
    rm -rf "$work/scoped"
    read -r wall user sys rss < <(RATINGCTL_NATIVE="${1:-}" measure "$ratingctl" rerate --tariff "$work/new-tariff.json" --old-tariff "$work/data/tariff.json" \
        --subscribers "$work/data/subscribers.jsonl" --rated "$work/old/rated.jsonl" --cdrs "$input" --out "$work/scoped" --lanes 0)
    echo "$wall $user $sys $rss $(tail -1 "$work/stdout.txt")"
}

# With BASELINE: the earlier build's run with the given lanes, reported, its CDR/s kept, and its outputs compared.
baseline_run() {
    local lanes="$1" label="$2" run="$3"
    [[ -n "${BASELINE:-}" ]] || return 0
    read -r wall user sys rss summary < <(rerate_run "$lanes" "$BASELINE")
    report "$run" "$label (baseline)" "$wall" "$user" "$sys" "$rss" "load $(cut -d' ' -f1 /proc/loadavg)"
    awk -v n="$lines" -v w="$wall" 'BEGIN { printf "%.0f\n", n / w }' >> "$work/baseline-$lanes.txt"
}

same_as_baseline() {
    local lanes="$1" run="$2"
    [[ -n "${BASELINE:-}" ]] || return 0
    for file in adjustments.jsonl rerate-mismatches.jsonl adjustment-totals.json; do
        cmp -s "$work/base-$lanes/$file" "$work/out-$lanes/$file" || { echo "run $run: $file differs from the baseline's ($lanes lanes)" >&2; exit 1; }
    done
}

report() {
    awk -v r="$1" -v l="$2" -v w="$3" -v u="$4" -v s="$5" -v m="$6" -v n="$lines" -v sum="$7" 'BEGIN {
        printf "  run %d, %s: %6.2f s wall, %5.2f s user, %4.2f s sys, %4.0f MB max RSS  %9.0f CDR/s  %5.2f CPU-µs/CDR  [%s]\n",
            r, l, w, u, s, m / 1024, n / w, (u + s) * 1e6 / n, sum }'
}

lanes=$(nproc)
echo
echo "input: $input, $lines CDR lines, $rated rated records; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ratingctl rerate, $runs runs, each one lane then $lanes lanes (--lanes 0: one per core):"
ones=()
rates=()
scoped=()
in_process=()
native=0
[[ -x "$(dirname "$ratingctl")/ratingctl-native" ]] && native=1
for ((run = 1; run <= runs; run++)); do
    baseline_run 1 "1 lane " "$run"
    read -r wall user sys rss summary < <(rerate_run 1)
    ones+=("$(awk -v n="$lines" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')")
    report "$run" "1 lane " "$wall" "$user" "$sys" "$rss" "$summary"
    same_as_baseline 1 "$run"
    baseline_run 0 "$lanes lanes" "$run"
    read -r wall user sys rss summary < <(rerate_run 0)
    rates+=("$(awk -v n="$lines" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')")
    report "$run" "$lanes lanes" "$wall" "$user" "$sys" "$rss" "load $(cut -d' ' -f1 /proc/loadavg)"
    for file in adjustments.jsonl rerate-mismatches.jsonl adjustment-totals.json; do
        cmp -s "$work/out-1/$file" "$work/out-0/$file" || { echo "run $run: $file differs between 1 and $lanes lanes" >&2; exit 1; }
    done
    same_as_baseline 0 "$run"
    read -r wall user sys rss summary < <(scoped_run)
    scoped+=("$(awk -v n="$lines" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')")
    report "$run" "$lanes lanes, --old-tariff" "$wall" "$user" "$sys" "$rss" "${summary##*; }"
    for file in adjustments.jsonl rerate-mismatches.jsonl; do
        cmp -s "$work/out-0/$file" "$work/scoped/$file" || { echo "run $run: $file of --old-tariff differs from the full replay's" >&2; exit 1; }
    done
    if [[ $native == 1 ]]; then
        read -r wall user sys rss summary < <(scoped_run 0)
        in_process+=("$(awk -v n="$lines" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')")
        report "$run" "$lanes lanes, --old-tariff, RATINGCTL_NATIVE=0" "$wall" "$user" "$sys" "$rss" "load $(cut -d' ' -f1 /proc/loadavg)"
        cmp -s "$work/out-0/adjustments.jsonl" "$work/scoped/adjustments.jsonl" || { echo "run $run: the in-process --old-tariff ledger differs" >&2; exit 1; }
    fi
done

echo
echo "every output file byte-identical between 1 and $lanes lanes in every run"
median_one=$(printf '%s\n' "${ones[@]}" | median)
median_rate=$(printf '%s\n' "${rates[@]}" | median)
awk -v o="$median_one" -v m="$median_rate" -v l="$lanes" 'BEGIN {
    printf "median, 1 lane: %.0f CDR/s\nmedian, %d lanes: %.0f CDR/s (%.2f x one lane)\n", o, l, m, m / o }'
median_scoped=$(printf '%s\n' "${scoped[@]}" | median)
awk -v s="$median_scoped" -v m="$median_rate" -v l="$lanes" -v t="${TARGET:-1000000}" 'BEGIN {
    printf "median, %d lanes, --old-tariff: %.0f CDR/s (%.2f x the full replay in the same runs; the same adjustments and mismatches in every run); target %d CDR/s: %s\n",
        l, s, s / m, t, (s >= t ? "MET" : "MISSED") }'
if [[ $native == 1 ]]; then
    median_in_process=$(printf '%s\n' "${in_process[@]}" | median)
    awk -v s="$median_scoped" -v p="$median_in_process" -v l="$lanes" 'BEGIN {
        printf "median, %d lanes, --old-tariff in ratingctl'"'"'s own process: %.0f CDR/s (ratingctl-native %.2f x that)\n", l, p, s / p }'
fi
if [[ -n "${BASELINE:-}" ]]; then
    base_one=$(median < "$work/baseline-1.txt")
    base_rate=$(median < "$work/baseline-0.txt")
    awk -v o="$median_one" -v m="$median_rate" -v bo="$base_one" -v bm="$base_rate" -v l="$lanes" 'BEGIN {
        printf "baseline (%s), every output byte-identical to it:\n", ENVIRON["BASELINE"]
        printf "median, 1 lane: %.0f CDR/s (this build %.2f x)\nmedian, %d lanes: %.0f CDR/s (this build %.2f x)\n", bo, o / bo, l, bm, m / bm }'
fi
