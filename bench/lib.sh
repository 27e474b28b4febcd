# Shared by the offline benchmark scripts (source it after setting `root` and `work`): building ratingctl, timing a
# command and taking a median.

# Sets `ratingctl`: published in Release ReadyToRun for linux-x64 (as a deployment runs it) with ratingctl-native beside
# it (`rate` and `rerate` over files compiled ahead of time, which ratingctl hands those command lines to; NATIVE=0
# leaves it out, and they then run in ratingctl's process), or with R2R=0 the plain build output.
build_ratingctl() {
    if [[ "${R2R:-1}" == 1 ]]; then
        echo "publishing ratingctl (Release, ReadyToRun, linux-x64)"
        dotnet publish "$root/src/RatingPipeline.Cli" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
            -o "$work/ratingctl" --nologo -v quiet -clp:NoSummary > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
        if [[ "${NATIVE:-1}" == 1 ]]; then
            echo "publishing ratingctl-native beside it (Release, native AOT, linux-x64)"
            dotnet publish "$root/src/RatingPipeline.Cli.Native" -c Release -r linux-x64 \
                -o "$work/ratingctl" --nologo -v quiet -clp:NoSummary > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
        fi
        ratingctl="$work/ratingctl/ratingctl"
    else
        echo "building ratingctl (Release)"
        dotnet build "$root/src/RatingPipeline.Cli" -c Release --nologo -v quiet -clp:NoSummary > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
        ratingctl="$root/src/RatingPipeline.Cli/bin/Release/net10.0/ratingctl"
    fi
}

# Runs a command (its output in $work/stdout.txt and $work/stderr.txt); prints "wall user sys maxrss_kb" (maxrss 0
# without GNU time).
measure() {
    if [[ -x /usr/bin/time ]]; then
        /usr/bin/time -v -o "$work/time.txt" "$@" > "$work/stdout.txt" 2> "$work/stderr.txt" || { cat "$work/stderr.txt" >&2; return 1; }
        awk -F': ' '
            /Elapsed \(wall clock\)/ { n = split($2, p, ":"); wall = 0; for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
            /User time/ { user = $2 }
            /System time/ { sys = $2 }
            /Maximum resident set size/ { rss = $2 }
            END { printf "%.3f %.2f %.2f %d\n", wall, user, sys, rss }' "$work/time.txt"
    else
        local TIMEFORMAT="%R %U %S"
        { time "$@" > "$work/stdout.txt" 2> "$work/stderr.txt"; } 2> "$work/time.txt" || { cat "$work/stderr.txt" >&2; return 1; }
        echo "$(cat "$work/time.txt") 0"
    fi
}

# The median of the numbers on stdin, one per line.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
