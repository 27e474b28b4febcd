#!/bin/sh
# Creates every RatingPipeline topic with its partitions and configuration, then checks them.
# Idempotent: a topic that exists is left as it is (--if-not-exists) but still checked, except that the topics kept
# for audit and re-rating get at least their retention (raised, never lowered).
#
# Environment (defaults for the single-node lab in deploy/compose.yaml):
#   BOOTSTRAP     broker address                       kafka:9092
#   PARTITIONS    partitions of every topic            6
#   REPLICATION   replication factor                   1 (use 3 on a real cluster)
#   MIN_ISR       min.insync.replicas                  1 when REPLICATION is 1, else 2
#   KAFKA_TOPICS  the kafka-topics tool                /opt/kafka/bin/kafka-topics.sh
#   KAFKA_CONFIGS the kafka-configs tool               /opt/kafka/bin/kafka-configs.sh
#   COMMAND_CONFIG client properties file (SASL, TLS)  none
#   AUDIT_RETENTION_DAYS  notice-log, bills            153 (at least 153: the audit period)
#   RATED_RETENTION_DAYS  rated-cdrs, adjustments      62 (at least 62: a cycle re-rated from the cluster)
#
# Every topic gets the same partition count: cdrs, subscribers and rater-state must be co-partitioned,
# and the rater writes its outputs to the input's partition number when the counts match (DESIGN.md).
set -eu

BOOTSTRAP="${BOOTSTRAP:-kafka:9092}"
PARTITIONS="${PARTITIONS:-6}"
REPLICATION="${REPLICATION:-1}"
if [ "$REPLICATION" -gt 1 ]; then default_min_isr=2; else default_min_isr=1; fi
MIN_ISR="${MIN_ISR:-$default_min_isr}"
KAFKA_TOPICS="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"
KAFKA_CONFIGS="${KAFKA_CONFIGS:-/opt/kafka/bin/kafka-configs.sh}"
AUDIT_RETENTION_DAYS="${AUDIT_RETENTION_DAYS:-153}"
RATED_RETENTION_DAYS="${RATED_RETENTION_DAYS:-62}"
# Both tools take the same client properties file (security.protocol, sasl.*, ssl.*); its path holds no spaces.
client=""
if [ -n "${COMMAND_CONFIG:-}" ]; then client="--command-config $COMMAND_CONFIG"; fi

at_least() {
  case "$2" in
    ''|*[!0-9]*) echo "create-topics: $1=$2 is not a whole number of days" >&2; exit 2 ;;
  esac
  if [ "$2" -lt "$3" ]; then
    echo "create-topics: $1=$2 is below $3 days, the least the product needs" >&2
    exit 2
  fi
}
at_least AUDIT_RETENTION_DAYS "$AUDIT_RETENTION_DAYS" 153
at_least RATED_RETENTION_DAYS "$RATED_RETENTION_DAYS" 62

DAY_MS=86400000
WEEK_MS=$((7 * DAY_MS))
MONTH_MS=$((30 * DAY_MS))
# notice-log is the audit trail of notices, bills the record of every closed cycle: kept at least five
# months (153 days).
NOTICE_LOG_MS=$((AUDIT_RETENTION_DAYS * DAY_MS))
# rated-cdrs and adjustments: a whole billing cycle and the next, so a cycle can be re-rated and audited from the
# cluster (62 days).
RATED_MS=$((RATED_RETENTION_DAYS * DAY_MS))

# Wait (bounded) until the broker answers.
tries=0
# shellcheck disable=SC2086 # $client is empty or two words
until "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" $client --list >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "create-topics: no broker answered at $BOOTSTRAP after 60 tries" >&2
    exit 1
  fi
  sleep 2
done

create() {
  topic="$1"
  shift
  # shellcheck disable=SC2086
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" $client --create --if-not-exists --topic "$topic" \
    --partitions "$PARTITIONS" --replication-factor "$REPLICATION" \
    --config "min.insync.replicas=$MIN_ISR" "$@"
}

# keep TOPIC MS: a topic that exists from before (created with a shorter retention, or by hand) keeps its records
# at least MS milliseconds: its retention.ms is raised, never lowered.
keep() {
  # shellcheck disable=SC2086
  current=$("$KAFKA_CONFIGS" --bootstrap-server "$BOOTSTRAP" $client --describe --entity-type topics --entity-name "$1" \
    | sed -n 's/^ *retention\.ms=\([0-9-][0-9]*\) .*/\1/p' | head -n 1)
  if [ -z "$current" ] || { [ "$current" -ge 0 ] && [ "$current" -lt "$2" ]; }; then
    # shellcheck disable=SC2086
    "$KAFKA_CONFIGS" --bootstrap-server "$BOOTSTRAP" $client --alter --entity-type topics --entity-name "$1" \
      --add-config "retention.ms=$2" >/dev/null
    echo "create-topics: $1 retention.ms raised from ${current:-the broker default} to $2"
  fi
}

# Input and reference data.
create cdrs --config cleanup.policy=delete --config "retention.ms=$WEEK_MS"
create subscribers --config cleanup.policy=compact
# The rater's changelog: compacted; short segments so compaction keeps a restore (read to the end) short.
create rater-state --config cleanup.policy=compact --config segment.ms=3600000 --config min.cleanable.dirty.ratio=0.1
# Which rater answers usage queries for which cdrs partition: compacted, one record per partition.
create rater-endpoints --config cleanup.policy=compact
# Outputs.
create rated-cdrs --config cleanup.policy=delete --config "retention.ms=$RATED_MS"
create reminders --config cleanup.policy=delete --config "retention.ms=$WEEK_MS"
create cdrs-dlq --config cleanup.policy=delete --config "retention.ms=$MONTH_MS"
create notice-log --config cleanup.policy=delete --config "retention.ms=$NOTICE_LOG_MS"
create notices-dlq --config cleanup.policy=delete --config "retention.ms=$MONTH_MS"
create adjustments --config cleanup.policy=delete --config "retention.ms=$RATED_MS"
create bills --config cleanup.policy=delete --config "retention.ms=$NOTICE_LOG_MS"

# Topics kept for audit and re-rating: also when they existed before this script set their retention.
keep rated-cdrs "$RATED_MS"
keep adjustments "$RATED_MS"
keep notice-log "$NOTICE_LOG_MS"
keep bills "$NOTICE_LOG_MS"

# Check: every topic exists with the same partition count (a topic created earlier with another count breaks
# co-partitioning and must be fixed by hand).
status=0
for topic in cdrs subscribers rater-state rated-cdrs reminders cdrs-dlq notice-log notices-dlq adjustments bills rater-endpoints; do
  # shellcheck disable=SC2086
  count=$("$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" $client --describe --topic "$topic" \
    | sed -n 's/.*PartitionCount: *\([0-9][0-9]*\).*/\1/p' | head -n 1)
  if [ "$count" != "$PARTITIONS" ]; then
    echo "create-topics: $topic has ${count:-no} partitions, expected $PARTITIONS" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "create-topics: every topic has $PARTITIONS partitions"
exit "$status"
