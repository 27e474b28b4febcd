#!/usr/bin/env bash
# Coverage-guided fuzzing of one target under afl-fuzz (AFL++), with SharpFuzz instrumenting RatingPipeline.Core.
#   tests/RatingPipeline.Fuzz/afl.sh cdr|tariff|profile [SECONDS]      (default 3600)
# Needs afl-fuzz (Debian: apt-get install afl++); the SharpFuzz.CommandLine tool comes from .config/dotnet-tools.json.
# Output under artifacts/afl/TARGET/ (findings/default/crashes, hangs, queue). Exit 1 when a crash was saved.
set -euo pipefail
target=${1:?usage: afl.sh cdr|tariff|profile [SECONDS]}
seconds=${2:-3600}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${AFL_WORK:-$root/artifacts/afl/$target}
bin=$work/bin
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found (Debian: apt-get install afl++)" >&2; exit 2; }
cd "$root"
dotnet tool restore >/dev/null
rm -rf "$bin" "$work/seeds"
dotnet build tests/RatingPipeline.Fuzz -c Release -o "$bin" -v quiet -nologo
# Seeds first: instrumented code runs only inside afl-fuzz's fork server.
dotnet "$bin/ratingfuzz.dll" seeds --target "$target" --out "$work/seeds"
# Instrument only the product's core (in this private copy of the build): coverage of the decoder, loader and parser.
dotnet tool run sharpfuzz "$bin/RatingPipeline.Core.dll"
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
# Resume an earlier run of the same target when its findings are there.
input=$work/seeds
[ -d "$work/findings/default/queue" ] && input=-
afl-fuzz -i "$input" -o "$work/findings" -t 10000 -m none -V "$seconds" -- "$(command -v dotnet)" "$bin/ratingfuzz.dll" afl --target "$target" || true
grep -E '^(execs_done|execs_per_sec|corpus_count|bitmap_cvg|saved_crashes|saved_hangs) ' "$work/findings/default/fuzzer_stats" || true
crashes=$(find "$work/findings/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
echo "$target: $crashes crash(es) in $work/findings/default/crashes"
if [ "$crashes" -gt 0 ]; then
  # Replay with the plain (uninstrumented) build for the violation text and stack.
  echo "replay: dotnet run --project tests/RatingPipeline.Fuzz -c Release -- replay --target $target $work/findings/default/crashes"
  exit 1
fi
