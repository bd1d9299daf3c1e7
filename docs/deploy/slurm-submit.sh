#!/bin/sh
# Submits the index job array and the commit job that runs once every task of it has succeeded.
set -eu
SHARDS=${SHARDS:-16}
index=$(sbatch --parsable --array="0-$((SHARDS - 1))" slurm-index.sbatch)
sbatch --dependency="afterok:${index%%;*}" --kill-on-invalid-dep=yes slurm-commit.sbatch
