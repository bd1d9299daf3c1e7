#!/bin/sh
# Registers the job definition, submits the index step as an array job of SHARDS children
# (AWS_BATCH_JOB_ARRAY_INDEX and AWS_BATCH_JOB_ARRAY_SIZE give each child its shard), and the
# commit step as a job depending on the whole array: it starts once every child has succeeded
# and fails, without running, if one of them fails for good.
set -eu
QUEUE=${QUEUE:-geochunks}
SHARDS=${SHARDS:-16}   # an array job has 2 to 10 000 children

aws batch register-job-definition --cli-input-json file://aws-batch-job-definition.json >/dev/null

index=$(aws batch submit-job \
  --job-name geochunks-index \
  --job-queue "$QUEUE" \
  --job-definition geochunks-index \
  --array-properties "size=$SHARDS" \
  --query jobId --output text)

aws batch submit-job \
  --job-name geochunks-commit \
  --job-queue "$QUEUE" \
  --job-definition geochunks-index \
  --depends-on "jobId=$index" \
  --container-overrides '{"command": ["geochunks", "commit", "--store", "/shared/store"]}'
