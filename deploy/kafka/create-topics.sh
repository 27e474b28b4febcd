#!/bin/sh
# Creates every RatingPipeline topic with its partitions and configuration, then checks them.
# Idempotent: a topic that exists is left as it is (--if-not-exists) but still checked.
#
# Environment (defaults for the single-node lab in deploy/compose.yaml):
#   BOOTSTRAP     broker address                       kafka:9092
#   PARTITIONS    partitions of every topic            6
#   REPLICATION   replication factor                   1 (use 3 on a real cluster)
#   MIN_ISR       min.insync.replicas                  1 when REPLICATION is 1, else 2
#   KAFKA_TOPICS  the kafka-topics tool                /opt/kafka/bin/kafka-topics.sh
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

DAY_MS=86400000
WEEK_MS=$((7 * DAY_MS))
MONTH_MS=$((30 * DAY_MS))
# notice-log is the audit trail of notices, bills the record of every closed cycle: kept at least five
# months (153 days).
NOTICE_LOG_MS=$((153 * DAY_MS))
# rated-cdrs and adjustments: a whole billing cycle and the next, so a cycle can be re-rated and audited from the
# cluster (62 days).
RATED_MS=$((62 * DAY_MS))

# Wait (bounded) until the broker answers.
tries=0
until "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1; do
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
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$topic" \
    --partitions "$PARTITIONS" --replication-factor "$REPLICATION" \
    --config "min.insync.replicas=$MIN_ISR" "$@"
}

# Input and reference data.
create cdrs --config cleanup.policy=delete --config "retention.ms=$WEEK_MS"
create subscribers --config cleanup.policy=compact
# The rater's changelog: compacted; short segments so compaction keeps a restore (read to the end) short.
create rater-state --config cleanup.policy=compact --config segment.ms=3600000 --config min.cleanable.dirty.ratio=0.1
# Outputs.
create rated-cdrs --config cleanup.policy=delete --config "retention.ms=$RATED_MS"
create reminders --config cleanup.policy=delete --config "retention.ms=$WEEK_MS"
create cdrs-dlq --config cleanup.policy=delete --config "retention.ms=$MONTH_MS"
create notice-log --config cleanup.policy=delete --config "retention.ms=$NOTICE_LOG_MS"
create notices-dlq --config cleanup.policy=delete --config "retention.ms=$MONTH_MS"
create adjustments --config cleanup.policy=delete --config "retention.ms=$RATED_MS"
create bills --config cleanup.policy=delete --config "retention.ms=$NOTICE_LOG_MS"

# Check: every topic exists with the same partition count (a topic created earlier with another count breaks
# co-partitioning and must be fixed by hand).
status=0
for topic in cdrs subscribers rater-state rated-cdrs reminders cdrs-dlq notice-log notices-dlq adjustments bills; do
  count=$("$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --describe --topic "$topic" \
    | sed -n 's/.*PartitionCount: *\([0-9][0-9]*\).*/\1/p' | head -n 1)
  if [ "$count" != "$PARTITIONS" ]; then
    echo "create-topics: $topic has ${count:-no} partitions, expected $PARTITIONS" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "create-topics: every topic has $PARTITIONS partitions"
exit "$status"
