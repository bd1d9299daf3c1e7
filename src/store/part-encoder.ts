/**
 * Encoding a part set's files while its rows are still being computed: an index run hands each
 * input's rows over as soon as they are ready, and the files those rows belong to are encoded between
 * the run's other work, so that after the last granule only the files still out of date are encoded
 * (docs/design/index-build.md, "The store's write after the last granule").
 *
 * The files are those {@link writePartSet} writes for the merged batch, byte for byte: each file
 * depends only on the rows of the inputs that contribute to it (the `granules` and `arrays` files on
 * every input's, a partition's `chunks` and `chunk_cells` files on its granules'), taken in input
 * order, so a file encoded early is reused when no input that contributes to it came, or was dropped,
 * since.
 */
import {
  cellsByChunkId,
  chunksByPartition,
  type EncodedPartFile,
  type EncodedPartSet,
  encodeArraysFile,
  encodeGranulesFile,
  encodePartitionFiles,
  loadPartEncoding,
  type StoreBatch,
} from "./parts.js";
import type { ChunkCellRow, ChunkRow } from "./schema.js";

/**
 * How much a file's rows must have grown since it was last encoded before it is encoded again ahead
 * of the end: every early encode of a file that more rows then change is wasted, and with a factor of
 * 2 the wasted work is at most that of the final encode (1 + 1/2 + 1/4...), however many inputs add
 * to the file, while a file whose inputs are all in (a partition of one granule) is encoded once.
 */
export const REENCODE_GROWTH = 2;

/** An input's rows, split by the files they go to. */
interface InputRows {
  batch: StoreBatch;
  /** Its chunk rows by partition. */
  partitions: Map<string, ChunkRow[]>;
  cells: Map<string, ChunkCellRow[]>;
}

/** A file group (the `granules` file, the `arrays` file, or one partition's files) as last encoded. */
interface Encoded {
  /** The inputs it was encoded from, in order. */
  inputs: string;
  rows: number;
  files: EncodedPartFile[];
}

const GRANULES = "granules";
const ARRAYS = "arrays";
const partitionKey = (partition: string) => `partition:${partition}`;

/**
 * The bookkeeping of early encodes, in the thread that runs them: inputs' rows by input position,
 * file groups as last encoded, and which groups have grown enough to be encoded again.
 */
export class PartEncoderState {
  readonly #tileMinRows: number | undefined;
  readonly #inputs = new Map<number, InputRows>();
  readonly #encoded = new Map<string, Encoded>();
  /** Groups changed since last looked at. */
  readonly #dirty = new Set<string>();
  /** File groups encoded so far (early and at the end) and the rows they held. */
  readonly encodes = { groups: 0, rows: 0 };

  constructor(tileMinRows?: number) {
    this.#tileMinRows = tileMinRows;
  }

  /** Takes the rows of input `index` (a position in the run's inputs). */
  add(index: number, batch: StoreBatch): void {
    const rows: InputRows = {
      batch,
      partitions: chunksByPartition(batch),
      cells: cellsByChunkId(batch.chunkCells),
    };
    this.#inputs.set(index, rows);
    this.#dirty.add(GRANULES);
    this.#dirty.add(ARRAYS);
    for (const p of rows.partitions.keys()) this.#dirty.add(partitionKey(p));
  }

  /**
   * Encodes one group whose rows have grown {@link REENCODE_GROWTH} times since its last encode
   * (partitions first: they are the likeliest to be complete), from every input taken so far.
   * @returns false when there was none.
   */
  encodeAhead(): boolean {
    const all = [...this.#inputs.keys()].sort((a, b) => a - b);
    const keys = [...this.#dirty].sort(
      (a, b) => Number(b.startsWith("partition:")) - Number(a.startsWith("partition:")),
    );
    for (const key of keys) {
      this.#dirty.delete(key);
      const { inputs, rows } = this.#contributors(key, all);
      const last = this.#encoded.get(key);
      if (last?.inputs === inputs.join(",")) continue;
      if (last && rows < REENCODE_GROWTH * last.rows) continue;
      this.#encode(key, inputs, rows);
      return true;
    }
    return false;
  }

  /**
   * The part files of the inputs at `indices` (others taken are left out), as {@link writePartSet}
   * encodes their batches merged in input order: groups encoded from exactly these inputs are
   * reused, the others encoded now.
   * @throws RangeError when an input of `indices` was never taken.
   */
  finish(indices: readonly number[]): EncodedPartSet {
    const order = [...indices].sort((a, b) => a - b);
    for (const i of order) if (!this.#inputs.has(i)) throw new RangeError(`no rows taken for input ${i}`);
    const partitions: string[] = [];
    const seen = new Set<string>();
    for (const i of order)
      for (const p of this.#inputs.get(i)!.partitions.keys())
        if (!seen.has(p)) {
          seen.add(p);
          partitions.push(p);
        }
    const files: EncodedPartFile[] = [];
    for (const key of [GRANULES, ARRAYS, ...partitions.map(partitionKey)]) {
      const { inputs, rows } = this.#contributors(key, order);
      const last = this.#encoded.get(key);
      files.push(...(last?.inputs === inputs.join(",") ? last.files : this.#encode(key, inputs, rows)));
    }
    return { tileMinRows: this.#tileMinRows, files };
  }

  /** The inputs among `among` (in input order) with rows in group `key`, and their rows. */
  #contributors(key: string, among: readonly number[]) {
    if (key === GRANULES || key === ARRAYS) {
      // Every input of the set goes into these files.
      const rows = among.reduce((n, i) => n + this.#inputs.get(i)!.batch[key].length, 0);
      return { inputs: [...among], rows };
    }
    const partition = key.slice("partition:".length);
    const inputs = among.filter((i) => this.#inputs.get(i)!.partitions.has(partition));
    const rows = inputs.reduce((n, i) => n + this.#inputs.get(i)!.partitions.get(partition)!.length, 0);
    return { inputs, rows };
  }

  #encode(key: string, inputs: readonly number[], rows: number): EncodedPartFile[] {
    const of = inputs.map((i) => this.#inputs.get(i)!);
    let files: EncodedPartFile[];
    if (key === GRANULES) files = [encodeGranulesFile(of.flatMap((r) => r.batch.granules))];
    else if (key === ARRAYS) files = [encodeArraysFile(of.flatMap((r) => r.batch.arrays))];
    else {
      const partition = key.slice("partition:".length);
      const chunks = of.flatMap((r) => r.partitions.get(partition)!);
      // Chunk ids hold their granule's id, so each chunk's cells are in its own input's rows.
      const cells = new Map<string, ChunkCellRow[]>();
      for (const r of of) for (const [id, list] of r.cells) cells.set(id, list);
      files = [...encodePartitionFiles(partition, chunks, cells, this.#tileMinRows)];
    }
    this.#encoded.set(key, { inputs: inputs.join(","), rows, files });
    this.encodes.groups++;
    this.encodes.rows += rows;
    return files;
  }
}

/** What the encoder starts with. */
export interface PartEncoderInit {
  tileMinRows?: number;
}

/** Part files encoded ahead; see {@link localPartEncoder}. */
export interface PartEncoder {
  /** Takes input `index`'s rows (kept, not copied: the caller must not change them). */
  add(index: number, batch: StoreBatch): void;
  /**
   * The part files of the inputs at `indices` (in the order the run merges them), or undefined when
   * an encode failed: the caller then encodes them itself.
   */
  finish(indices: readonly number[]): Promise<EncodedPartSet | undefined>;
  /** Stops encoding ahead. */
  close(): Promise<void>;
}

/**
 * Encodes part files ahead on the calling thread: each input's rows are taken as they come, and one
 * file group at a time is encoded between other work ({@link PartEncoderState.encodeAhead}, one group
 * a turn of the event loop), with no thread to start and no rows to copy. `finish` encodes what is
 * still out of date.
 */
export function localPartEncoder(init: PartEncoderInit = {}): PartEncoder {
  const state = new PartEncoderState(init.tileMinRows);
  let loaded = false;
  let closed = false;
  let failed = false;
  let scheduled = false;
  const ready = loadPartEncoding().then(() => {
    loaded = true;
  });
  const step = () => {
    scheduled = false;
    if (closed || failed || !loaded) return;
    let more: boolean;
    try {
      more = state.encodeAhead();
    } catch {
      // Rows that cannot be encoded: `finish` answers undefined and the run encodes (and fails) itself.
      failed = true;
      return;
    }
    if (more) schedule();
  };
  function schedule() {
    if (scheduled || closed) return;
    scheduled = true;
    setImmediate(step);
  }
  return {
    add(index, batch) {
      if (closed) return;
      state.add(index, batch);
      if (loaded) schedule();
      else void ready.then(schedule, () => undefined);
    },
    async finish(indices) {
      try {
        await ready;
        if (failed) return undefined;
        return state.finish(indices);
      } catch {
        return undefined;
      }
    },
    async close() {
      closed = true;
    },
  };
}
