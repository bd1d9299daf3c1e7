/**
 * `index --shard auto`: this task's shard from the variables a batch engine sets in each task of
 * an array job (Kubernetes Indexed Jobs, AWS Batch array jobs, SLURM job arrays).
 */
import { UsageError } from "./errors.js";

/** Shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** A shard found in the environment, with where its index and count came from. */
export interface EngineShard extends Shard {
  /** The batch engine: "Kubernetes Indexed Job", "AWS Batch array job" or "SLURM job array". */
  engine: string;
  /** The variables (or option) the index and count were read from, e.g. `SLURM_ARRAY_TASK_ID=2`. */
  from: string[];
}

/**
 * Variable giving the number of shards where the engine sets none: a Kubernetes Indexed Job's pods
 * know their index (JOB_COMPLETION_INDEX) but not the Job's `completions`.
 */
export const SHARDS_VARIABLE = "GEOCHUNKS_SHARDS";

type Environment = Readonly<Record<string, string | undefined>>;

/** What one engine's variables say: the task's index and, when the engine tells, the count. */
interface EngineReading {
  engine: string;
  index: number;
  count?: number;
  from: string[];
}

/** A variable's value as a whole number >= `min`, or a usage error naming it. */
function wholeNumber(env: Environment, name: string, min = 0): number {
  const text = env[name]?.trim() ?? "";
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min)
    throw new UsageError(`${name}=${env[name]} is not a whole number${min > 0 ? ` >= ${min}` : ""}`);
  return value;
}

const present = (env: Environment, name: string) => (env[name]?.trim() ?? "") !== "";

/** Kubernetes Indexed Job: JOB_COMPLETION_INDEX, 0 to completions - 1; the count is not exposed. */
function kubernetes(env: Environment): EngineReading | undefined {
  if (!present(env, "JOB_COMPLETION_INDEX")) return undefined;
  const index = wholeNumber(env, "JOB_COMPLETION_INDEX");
  return { engine: "Kubernetes Indexed Job", index, from: [`JOB_COMPLETION_INDEX=${index}`] };
}

/** AWS Batch array job: AWS_BATCH_JOB_ARRAY_INDEX, 0 to size - 1, and AWS_BATCH_JOB_ARRAY_SIZE. */
function awsBatch(env: Environment): EngineReading | undefined {
  if (!present(env, "AWS_BATCH_JOB_ARRAY_INDEX")) return undefined;
  const index = wholeNumber(env, "AWS_BATCH_JOB_ARRAY_INDEX");
  const from = [`AWS_BATCH_JOB_ARRAY_INDEX=${index}`];
  if (!present(env, "AWS_BATCH_JOB_ARRAY_SIZE")) return { engine: "AWS Batch array job", index, from };
  const count = wholeNumber(env, "AWS_BATCH_JOB_ARRAY_SIZE", 1);
  return {
    engine: "AWS Batch array job",
    index,
    count,
    from: [...from, `AWS_BATCH_JOB_ARRAY_SIZE=${count}`],
  };
}

/**
 * SLURM job array: SLURM_ARRAY_TASK_ID counted from SLURM_ARRAY_TASK_MIN in steps of
 * SLURM_ARRAY_TASK_STEP (`--array=1-8` gives shards 0..7, `--array=0-15:4` shards 0..3), and
 * SLURM_ARRAY_TASK_COUNT. A list such as `--array=1,4,9` has no contiguous numbering and is refused.
 */
function slurm(env: Environment): EngineReading | undefined {
  if (!present(env, "SLURM_ARRAY_TASK_ID")) return undefined;
  const id = wholeNumber(env, "SLURM_ARRAY_TASK_ID");
  const min = present(env, "SLURM_ARRAY_TASK_MIN") ? wholeNumber(env, "SLURM_ARRAY_TASK_MIN") : 0;
  const step = present(env, "SLURM_ARRAY_TASK_STEP") ? wholeNumber(env, "SLURM_ARRAY_TASK_STEP", 1) : 1;
  const from = [`SLURM_ARRAY_TASK_ID=${id}`];
  if (min > 0) from.push(`SLURM_ARRAY_TASK_MIN=${min}`);
  if (step > 1) from.push(`SLURM_ARRAY_TASK_STEP=${step}`);
  if (id < min || (id - min) % step !== 0)
    throw new UsageError(`${from.join(", ")}: the task id is not on the array's range`);
  const index = (id - min) / step;
  if (!present(env, "SLURM_ARRAY_TASK_COUNT")) return { engine: "SLURM job array", index, from };
  const count = wholeNumber(env, "SLURM_ARRAY_TASK_COUNT", 1);
  from.push(`SLURM_ARRAY_TASK_COUNT=${count}`);
  if (present(env, "SLURM_ARRAY_TASK_MAX")) {
    const max = wholeNumber(env, "SLURM_ARRAY_TASK_MAX");
    if (max < min || (max - min) / step + 1 !== count)
      throw new UsageError(
        `SLURM_ARRAY_TASK_MIN=${min}, SLURM_ARRAY_TASK_MAX=${max}, SLURM_ARRAY_TASK_STEP=${step} and ` +
          `SLURM_ARRAY_TASK_COUNT=${count} are not a contiguous array: submit it as --array=FIRST-LAST[:STEP]`,
      );
  }
  return { engine: "SLURM job array", index, count, from };
}

const ENGINES = [kubernetes, awsBatch, slurm];

/** The task variables every engine sets, for error messages. */
const INDEX_VARIABLES = "JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID";

/**
 * This task's shard, from the batch engine's variables in `env`: the index from the engine, the
 * count from `shards` (`--shards N`), else the engine (AWS_BATCH_JOB_ARRAY_SIZE,
 * SLURM_ARRAY_TASK_COUNT), else {@link SHARDS_VARIABLE}.
 * @throws UsageError when no engine's index is set, a variable is not a whole number, the
 * sources of the count disagree, the count is unknown, or the index is not below the count.
 * @example
 * shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "4" });
 * // { index: 2, count: 4, engine: "SLURM job array", from: [...] }
 */
export function shardFromEnvironment(env: Environment, opts: { shards?: number } = {}): EngineShard {
  const found = ENGINES.map((read) => read(env)).filter((r) => r !== undefined);
  if (found.length === 0)
    throw new UsageError(
      `--shard auto: no batch engine's task index in the environment (${INDEX_VARIABLES}); ` +
        "run it as a task of an array job, or give --shard i/n",
    );
  const reading = found[0]!;
  for (const other of found.slice(1))
    if (other.index !== reading.index || (other.count ?? reading.count) !== (reading.count ?? other.count))
      throw new UsageError(
        `--shard auto: the variables of two batch engines disagree (${reading.from.join(", ")}; ` +
          `${other.from.join(", ")}): give --shard i/n`,
      );
  const counts: [number, string][] = [];
  if (opts.shards !== undefined) counts.push([opts.shards, `--shards ${opts.shards}`]);
  for (const r of found) if (r.count !== undefined) counts.push([r.count, r.from.at(-1)!]);
  if (present(env, SHARDS_VARIABLE))
    counts.push([wholeNumber(env, SHARDS_VARIABLE, 1), `${SHARDS_VARIABLE}=${env[SHARDS_VARIABLE]}`]);
  if (counts.length === 0)
    throw new UsageError(
      `${reading.from.join(", ")} gives this task's shard but not how many there are: ` +
        `pass --shards N (the number of tasks) or set ${SHARDS_VARIABLE}`,
    );
  const [count, countFrom] = counts[0]!;
  const differing = counts.find(([n]) => n !== count);
  if (differing) throw new UsageError(`--shard auto: ${countFrom} disagrees with ${differing[1]}`);
  if (reading.index >= count)
    throw new UsageError(
      `${reading.from.join(", ")}: shard ${reading.index} is not below the ${count} shards of ${countFrom}`,
    );
  const from = [...new Set([...reading.from, countFrom])];
  return { index: reading.index, count, engine: reading.engine, from };
}
