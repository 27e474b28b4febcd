#!/usr/bin/env bash
# End-to-end throughput of `ratingctl rate`: publishes ratingctl in Release (ReadyToRun, as a deployment would run it)
# with ratingctl-native beside it (`rate` compiled ahead of time, to which ratingctl hands its `rate` command lines),
# generates a synthetic data set once (100,000 subscribers, 1,000,000 CDRs, seed 42), then for each run rates it with
# one lane and with the default lanes (one per core) back to back, and prints CDRs/s per run and the medians, with the
# I/O floor of the same file (`wc -l`, `cat > /dev/null`) measured in the same run, checks that both give the same
# bytes in every output file, and times the start (a 1-CDR run with the small tariff of the worked example) and the
# profile load (a 1-CDR run with 1,000,000 subscribers, less the start), and the set-up within the timed runs (a 1-CDR
# run with the data set's own tariff and subscribers): the rate of the pass over the CDRs is what the runs take beyond it.
#   bench/rate-throughput.sh            # RUNS=5 SUBSCRIBERS=100000 CDRS=1000000 SEED=42 by default
#   RUNS=3 CDRS=200000 PROFILES=100000 bench/rate-throughput.sh
#   KEEP=1 bench/rate-throughput.sh     # keep the data set and outputs (path printed)
#   R2R=0 bench/rate-throughput.sh      # the plain build output instead of the ReadyToRun publish
#   NATIVE=0 bench/rate-throughput.sh   # without ratingctl-native: `rate` in ratingctl's own process
#   BASELINE=/tmp/main/ratingctl PROFILE_LOAD_ONLY=1 bench/rate-throughput.sh   # profile load beside another build's, then stop
#   BASELINE=/tmp/main/ratingctl bench/rate-throughput.sh   # also that build's rate runs, each just before this build's
#                                       # with the same lanes (outputs must be byte-identical), and the CPU and wall ratios
#   TMPDIR=/dev/shm bench/rate-throughput.sh   # data and outputs on tmpfs: no disk writeback in the figures
set -euo pipefail

runs="${RUNS:-5}"
subscribers="${SUBSCRIBERS:-100000}"
cdrs="${CDRS:-1000000}"
profiles="${PROFILES:-1000000}"
seed="${SEED:-42}"
target="${TARGET:-1000000}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/rate-throughput.XXXXXX")"
if [[ "${KEEP:-0}" != 1 ]]; then
    trap 'rm -rf "$work"' EXIT
fi

source "$root/bench/lib.sh"
build_ratingctl

echo "generating $cdrs CDRs for $subscribers subscribers (seed $seed) in $work/data"
"$ratingctl" generate --subscribers "$subscribers" --cdrs "$cdrs" --seed "$seed" --out "$work/data" > /dev/null
input="$work/data/cdrs.jsonl"
bytes=$(stat -c %s "$input")
lines=$(wc -l < "$input")

echo
echo "input: $input, $lines lines, $bytes bytes; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "I/O floor (the same file, page cache warm):"
for tool in "wc -l" "cat"; do
    walls=()
    for _ in 1 2 3; do
        if [[ $tool == cat ]]; then
            read -r wall _ _ _ < <(measure cat "$input")
        else
            read -r wall _ _ _ < <(measure wc -l "$input")
        fi
        walls+=("$wall")
    done
    wall=$(printf '%s\n' "${walls[@]}" | median)
    awk -v t="$tool" -v w="$wall" -v n="$lines" -v b="$bytes" 'BEGIN {
        if (w < 0.001) w = 0.001
        printf "  %-6s median of 3: %6.3f s  %12.0f lines/s  %7.0f MB/s\n", t, w, n / w, b / w / 1e6 }'
done

# Five runs of `rate` over the first CDR of a file (tariff, subscribers, CDR file): their walls in one_cdr_walls.
one_cdr_runs() {
    head -1 "$3" > "$work/one-cdr.jsonl"
    one_cdr_walls=()
    for _ in 1 2 3 4 5; do
        rm -rf "$work/out-one"
        read -r wall _ _ _ < <(measure "$ratingctl" rate --tariff "$1" --subscribers "$2" --cdrs "$work/one-cdr.jsonl" --out "$work/out-one" \
            --no-progress)
        one_cdr_walls+=("$wall")
    done
}

# The start: one CDR against the worked example's tariff and subscribers (median of 5).
example="$root/tests/RatingPipeline.Tests/Examples/basic"
one_cdr_runs "$example/tariff.json" "$example/subscribers.jsonl" "$example/cdrs.jsonl"
starts=("${one_cdr_walls[@]}")
start=$(printf '%s\n' "${starts[@]}" | median)
echo
echo "start (1 CDR, the worked example's tariff): median of 5 $start s  [${starts[*]}]"

# Profile load: one CDR against a set of $PROFILES subscribers (generated with the same seed), less the start above
# (median of 5), beside `wc -l` of the same subscriber file. With BASELINE=path/to/another/ratingctl (e.g. a publish of
# main) that build's load is measured in the same run, its runs alternating with these, and printed beside.
"$ratingctl" generate --subscribers "$profiles" --cdrs 1 --seed "$seed" --out "$work/profiles" > /dev/null
profiles_file="$work/profiles/subscribers.jsonl"
profile_count=$(wc -l < "$profiles_file")
head -1 "$work/profiles/cdrs.jsonl" > "$work/one-of-set.jsonl"
load_run() {
    rm -rf "$work/out-profiles"
    measure "$1" rate --tariff "$work/profiles/tariff.json" --subscribers "$profiles_file" \
        --cdrs "$work/one-of-set.jsonl" --out "$work/out-profiles" --no-progress --lanes 1
}
loads=()
cpus=()
base_loads=()
base_cpus=()
for _ in 1 2 3 4 5; do
    read -r wall user sys _ < <(load_run "$ratingctl")
    loads+=("$wall")
    cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')")
    if [[ -n "${BASELINE:-}" ]]; then
        read -r wall user sys _ < <(load_run "$BASELINE")
        base_loads+=("$wall")
        base_cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')")
    fi
done
walls=()
for _ in 1 2 3; do
    read -r wall _ _ _ < <(measure wc -l "$profiles_file")
    walls+=("$wall")
done
wc_wall=$(printf '%s\n' "${walls[@]}" | median)
profile_load() {
    local label="$1" load cpu
    shift
    load=$(printf '%s\n' "${@:1:5}" | median)
    cpu=$(printf '%s\n' "${@:6:5}" | median)
    awk -v label="$label" -v n="$profile_count" -v l="$load" -v s="$start" -v w="$wc_wall" -v c="$cpu" -v runs="${*:1:5}" 'BEGIN {
        net = l - s; if (net < 0.001) net = 0.001; if (w < 0.001) w = 0.001
        printf "%s (%d profiles): 1-CDR run median of 5 %.3f s [%s] (CPU %.2f s), less the start %.3f s = %.3f s: %.0f profiles/s; wc -l of the file %.3f s (%.0f lines/s); target 1000000 profiles/s: %s\n",
            label, n, l, runs, c, s, net, n / net, w, n / w, (n / net >= 1000000 ? "MET" : "MISSED") }'
}
profile_load "profile load" "${loads[@]}" "${cpus[@]}"
if [[ -n "${BASELINE:-}" ]]; then
    profile_load "profile load, baseline $BASELINE" "${base_loads[@]}" "${base_cpus[@]}"
fi
if [[ "${PROFILE_LOAD_ONLY:-0}" == 1 ]]; then
    exit 0
fi

# Prints "wall user sys rss summary" of one rate run with the given lanes into "$work/out-$lanes".
rate_run() {
    local lanes="$1" binary="${2:-$ratingctl}" out="$work/out-$1"
    [[ -n "${2:-}" ]] && out="$work/base-$1"
    rm -rf "$out"
    read -r wall user sys rss < <(measure "$binary" rate --tariff "$work/data/tariff.json" --subscribers "$work/data/subscribers.jsonl" \
        --cdrs "$input" --out "$out" --no-progress --lanes "$lanes")
    echo "$wall $user $sys $rss $(cat "$work/stdout.txt")"
}

# With BASELINE: that build's run with the given lanes just before this build's, its wall and CPU kept, its outputs
# compared with this build's after the run.
base_walls_1=(); base_cpus_1=(); base_walls_0=(); base_cpus_0=(); walls_1=(); cpus_1=(); walls_0=(); cpus_0=()
baseline_rate_run() {
    local lanes="$1" run="$2" label="$3"
    [[ -n "${BASELINE:-}" ]] || return 0
    read -r wall user sys rss summary < <(rate_run "$lanes" "$BASELINE")
    report "$run" "$label (baseline)" "$wall" "$user" "$sys" "$rss" "$summary"
    eval "base_walls_$lanes+=(\"$wall\"); base_cpus_$lanes+=(\"$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')\")"
}
compare_with_baseline() {
    local lanes="$1" run="$2"
    [[ -n "${BASELINE:-}" ]] || return 0
    for file in rated reminders rejected bills; do
        cmp -s "$work/out-$lanes/$file.jsonl" "$work/base-$lanes/$file.jsonl" || { echo "run $run: $file.jsonl differs from the baseline's ($lanes lanes)" >&2; exit 1; }
    done
}

report() {
    awk -v r="$1" -v l="$2" -v w="$3" -v u="$4" -v s="$5" -v m="$6" -v n="$lines" -v sum="$7" 'BEGIN {
        printf "  run %d, %s: %6.2f s wall, %5.2f s user, %4.2f s sys, %4.0f MB max RSS  %10.0f CDR/s (%9.0f per CPU-second)  [%s]\n",
            r, l, w, u, s, m / 1024, n / w, n / (u + s > 0 ? u + s : 1), sum }'
}

lanes=$(nproc)
echo
echo "ratingctl rate, $runs runs, each one lane then $lanes lanes (--lanes 0: one per core):"
rates=()
ones=()
for ((run = 1; run <= runs; run++)); do
    baseline_rate_run 1 "$run" "1 lane "
    read -r wall user sys rss summary < <(rate_run 1)
    ones+=("$(awk -v n="$lines" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')")
    walls_1+=("$wall"); cpus_1+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')")
    report "$run" "1 lane " "$wall" "$user" "$sys" "$rss" "$summary"
    compare_with_baseline 1 "$run"
    baseline_rate_run 0 "$run" "$lanes lanes"
    read -r wall user sys rss summary < <(rate_run 0)
    rates+=("$(awk -v n="$lines" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')")
    walls_0+=("$wall"); cpus_0+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')")
    report "$run" "$lanes lanes" "$wall" "$user" "$sys" "$rss" "$summary   load $(cut -d' ' -f1 /proc/loadavg)"
    compare_with_baseline 0 "$run"
    for file in rated reminders rejected bills; do
        cmp -s "$work/out-1/$file.jsonl" "$work/out-0/$file.jsonl" || { echo "run $run: $file.jsonl differs between 1 and $lanes lanes" >&2; exit 1; }
    done
done

echo
echo "every output file byte-identical between 1 and $lanes lanes in every run"
median_one=$(printf '%s\n' "${ones[@]}" | median)
median_rate=$(printf '%s\n' "${rates[@]}" | median)
awk -v o="$median_one" -v m="$median_rate" -v t="$target" -v l="$lanes" 'BEGIN {
    printf "median, 1 lane: %.0f CDR/s\nmedian, %d lanes: %.0f CDR/s (%.2f x one lane); target %d CDR/s: %s\n", o, l, m, m / o, t, (m >= t ? "MET" : "MISSED") }'

# The set-up inside each run: one CDR against this data set's tariff and subscribers with the default lanes (median of
# 5): the runtime's start, the tariff, the profiles, the lanes' tables and their threads, but no rating. What the
# default-lane median takes beyond it is the pass over the CDRs.
one_cdr_runs "$work/data/tariff.json" "$work/data/subscribers.jsonl" "$input"
setups=("${one_cdr_walls[@]}")
setup=$(printf '%s\n' "${setups[@]}" | median)
median_wall=$(printf '%s\n' "${walls_0[@]}" | median)
awk -v s="$setup" -v w="$median_wall" -v n="$lines" -v l="$lanes" -v runs="${setups[*]}" 'BEGIN {
    pass = w - s; if (pass < 0.001) pass = 0.001
    printf "set-up (1 CDR, this data set'"'"'s tariff and subscribers, %d lanes): median of 5 %.3f s [%s]; the %d-lane median wall %.3f s less it: the pass %.3f s, %.0f CDR/s\n",
        l, s, runs, l, w, pass, n / pass }'
if [[ -n "${BASELINE:-}" ]]; then
    echo "every output file byte-identical to the baseline's in every run"
    for l in 1 0; do
        eval "bw=(\"\${base_walls_$l[@]}\"); bc=(\"\${base_cpus_$l[@]}\"); tw=(\"\${walls_$l[@]}\"); tc=(\"\${cpus_$l[@]}\")"
        awk -v label="$([[ $l == 1 ]] && echo "1 lane" || echo "$lanes lanes")" -v bw="$(printf '%s\n' "${bw[@]}" | median)" \
            -v bc="$(printf '%s\n' "${bc[@]}" | median)" -v tw="$(printf '%s\n' "${tw[@]}" | median)" -v tc="$(printf '%s\n' "${tc[@]}" | median)" 'BEGIN {
            printf "%s: medians, this build against the baseline: wall %.3f against %.3f s (%.2f x), CPU %.2f against %.2f s (%.2f x)\n",
                label, tw, bw, tw / bw, tc, bc, tc / bc }'
    done
fi

# What the JIT costs: the one-lane run in ratingctl's own process (RATINGCTL_NATIVE=0) as published (ReadyToRun: methods
# compiled ahead of time, then hot ones recompiled) against the same run with DOTNET_ReadyToRun=0 (every method, the
# framework's included, compiled at run time), and with ratingctl-native (nothing compiled at run time), 3 rounds alternating.
if [[ "${R2R:-1}" == 1 ]]; then
    jit_on=()
    jit_off=()
    jit_none=()
    cpu() { awk -v u="$2" -v s="$3" 'BEGIN { printf "%.2f", u + s }'; }
    for _ in 1 2 3; do
        read -r wall user sys _ _ < <(RATINGCTL_NATIVE=0 rate_run 1)
        jit_on+=("$(cpu "$wall" "$user" "$sys")")
        read -r wall user sys _ _ < <(RATINGCTL_NATIVE=0 DOTNET_ReadyToRun=0 rate_run 1)
        jit_off+=("$(cpu "$wall" "$user" "$sys")")
        if [[ -x "$(dirname "$ratingctl")/ratingctl-native" ]]; then
            read -r wall user sys _ _ < <(rate_run 1)
            jit_none+=("$(cpu "$wall" "$user" "$sys")")
        fi
    done
    on=$(printf '%s\n' "${jit_on[@]}" | median)
    off=$(printf '%s\n' "${jit_off[@]}" | median)
    awk -v on="$on" -v off="$off" 'BEGIN {
        printf "JIT: one lane in ratingctl'"'"'s process, CPU median of 3: ReadyToRun %.2f s, everything compiled at run time %.2f s: the JIT costs about %.2f s of CPU on this run without ReadyToRun\n", on, off, off - on }'
    if [[ ${#jit_none[@]} -gt 0 ]]; then
        none=$(printf '%s\n' "${jit_none[@]}" | median)
        awk -v on="$on" -v none="$none" 'BEGIN {
            printf "     one lane in ratingctl-native (compiled ahead of time, no JIT): %.2f s of CPU (%.2f x the ReadyToRun run)\n", none, none / on }'
    fi
fi
