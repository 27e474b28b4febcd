#!/usr/bin/env bash
# The test command: builds the solution in Release and runs every test, then prints the totals alone on the last
# line as "N passed, N failed".
#
# Some tests talk to real outside programs: kcat (Kafka client), Postfix's smtp-sink (SMTP server), Prometheus and
# promtool, yamllint; and one links ratingctl-native with gcc. When one is missing, this script installs it with apt
# if it can (Debian/Ubuntu as root); otherwise it says exactly what to install and runs every test that does not need
# it (the tests that need it carry the category needs-kcat, needs-smtp-sink, needs-prometheus, needs-yamllint or
# needs-gcc).
#
#   ./test.sh                          everything
#   ./test.sh --filter "FullyQualifiedName~Examples"   any dotnet test argument is passed on (README: the fast inner loop)
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# tool -> (Debian package, test category)
declare -A package=([kcat]=kcat [smtp-sink]=postfix [promtool]=prometheus [yamllint]=yamllint [gcc]=gcc)
declare -A category=([kcat]=needs-kcat [smtp-sink]=needs-smtp-sink [promtool]=needs-prometheus [yamllint]=needs-yamllint [gcc]=needs-gcc)
have() {
  case "$1" in
    smtp-sink) [ -x /usr/sbin/smtp-sink ] || command -v smtp-sink >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for tool in kcat smtp-sink promtool yamllint gcc; do
  have "$tool" || missing+=("$tool")
done

if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  packages=()
  for tool in "${missing[@]}"; do packages+=("${package[$tool]}"); done
  echo "== installing ${packages[*]} (apt)"
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
  if apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null; then
    still=()
    for tool in "${missing[@]}"; do have "$tool" || still+=("$tool"); done
    missing=("${still[@]+"${still[@]}"}")
  else
    echo "== apt-get could not install ${packages[*]}"
  fi
fi

filter=""
if [ ${#missing[@]} -gt 0 ]; then
  packages=()
  for tool in "${missing[@]}"; do
    packages+=("${package[$tool]}")
    filter="${filter:+$filter&}TestCategory!=${category[$tool]}"
  done
  echo "== not installed: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${packages[*]}) to run"
  echo "   the tests that need them; running every other test now (filter: $filter)."
fi

echo "== build"
if ! dotnet build RatingPipeline.sln -c Release -warnaserror; then
  echo "0 passed, 1 failed"
  exit 1
fi

# A --filter given on the command line is combined with the one for missing programs.
args=()
user_filter=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--filter" ] && [ $# -gt 1 ]; then user_filter="$2"; shift 2; else args+=("$1"); shift; fi
done
if [ -n "$user_filter" ] && [ -n "$filter" ]; then
  filter="($user_filter)&$filter"
elif [ -n "$user_filter" ]; then
  filter="$user_filter"
fi

# The test projects one after the other (run side by side, the Kafka, process and timing tests would compete with
# the unit tests for the cores): unit tests, then what needs the embedded cluster or child processes, then deployment.
rm -rf TestResults
status=0
for project in RatingPipeline.Tests RatingPipeline.Tests.Kafka RatingPipeline.Tests.Deploy; do
  echo "== test $project"
  dotnet test "tests/$project" -c Release --no-build ${filter:+--filter "$filter"} \
    --logger "trx;LogFileName=$project.trx" --results-directory TestResults --logger "console;verbosity=normal" \
    "${args[@]+"${args[@]}"}" || status=1
done

# Failed tests again, with their messages, just above the totals so that the end of the log names them.
python3 - <<'PY'
import glob, xml.etree.ElementTree as ET
for f in glob.glob('TestResults/**/*.trx', recursive=True):
    for r in ET.parse(f).getroot().findall('.//{*}UnitTestResult'):
        if r.get('outcome') not in ('Passed', 'NotExecuted'):
            msg = r.find('.//{*}Message')
            trace = r.find('.//{*}StackTrace')
            print(f"== FAILED {r.get('testName')} ({r.get('duration')})")
            print((msg.text or '').strip()[:3000] if msg is not None else '(no message)')
            if trace is not None and trace.text:
                print('\n'.join(trace.text.strip().splitlines()[:8]))
PY

totals=$(python3 - <<'PY'
import glob, xml.etree.ElementTree as ET
passed = failed = 0
for f in glob.glob('TestResults/**/*.trx', recursive=True):
    c = ET.parse(f).getroot().find('.//{*}Counters')
    if c is not None:
        passed += int(c.get('passed', 0))
        failed += int(c.get('failed', 0)) + int(c.get('error', 0)) + int(c.get('timeout', 0)) + int(c.get('aborted', 0))
print(f"{passed} passed, {failed} failed")
PY
)
[ -n "$totals" ] || totals="0 passed, 1 failed"
if [ $status -ne 0 ] && [ "${totals#* passed, }" = "0 failed" ]; then
  # The runner failed without a failed test (e.g. a crashed test host): count it as a failure.
  totals="${totals%%,*}, 1 failed"
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "== not run: the tests that need ${missing[*]} (see above)"
fi
echo "$totals"
exit $status
