/**
 * Buffers for dataset values, used again once their reader is done with the values. A whole-dataset
 * read writes its elements into one buffer of the dataset's size; when that buffer is fresh memory,
 * every 4 KiB page of it is faulted in and zeroed by the kernel as the chunks are copied in, and its
 * external memory starts garbage collections until it is collected. The index reads each beam's
 * coordinates (about 1 MB per array of a full-size granule, 16 MB per granule) and is done with them
 * once the beam's chunk rows are made: those buffers can go round.
 */

/** Where a read writes its values' bytes (see `readDatasetValues`' `buffers` option). */
export interface ValueBuffers {
  /**
   * A buffer of exactly `bytes` bytes (a view, possibly of a larger ArrayBuffer, from its start), its
   * contents undefined: the read writes every byte before it hands the values out.
   */
  take(bytes: number): Uint8Array;
}

/** Options of {@link ValueBufferPool}. */
export interface ValueBufferPoolOptions {
  /** Smaller buffers are plain allocations (they live on the JavaScript heap's side cheaply). Default 64 KiB. */
  minBytes?: number;
  /** Larger buffers are plain allocations, never kept. Default 64 MiB. */
  maxBytes?: number;
  /** Most bytes of free buffers kept; buffers given back beyond it are left to the garbage collector. Default 96 MiB. */
  maxFreeBytes?: number;
  /** Free buffers are dropped after this long without a buffer taken or given back, ms. Default 1000. */
  idleMs?: number;
}

/**
 * Buffers by size class (powers of two from `minBytes` to `maxBytes`): {@link take} hands out a free
 * buffer of the class or a new one, {@link give} takes back a buffer it handed out, once. The caller
 * gives a buffer back only when neither it nor anything it passed the values to will read them again
 * (the next {@link take} of the class may write over them); a buffer never given back is collected as
 * any other. Buffers it did not hand out, and buffers given back twice, are ignored.
 */
export class ValueBufferPool implements ValueBuffers {
  readonly #free = new Map<number, ArrayBuffer[]>();
  /** Buffers handed out and not yet given back. */
  readonly #lent = new WeakSet<ArrayBuffer>();
  readonly #minBytes: number;
  readonly #maxBytes: number;
  readonly #maxFreeBytes: number;
  readonly #idleMs: number;
  #freeBytes = 0;
  #lastUse = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: ValueBufferPoolOptions = {}) {
    this.#minBytes = opts.minBytes ?? 64 * 1024;
    this.#maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.#maxFreeBytes = opts.maxFreeBytes ?? 96 * 1024 * 1024;
    this.#idleMs = opts.idleMs ?? 1000;
  }

  take(bytes: number): Uint8Array {
    const size = this.#sizeClass(bytes);
    if (size === undefined) return new Uint8Array(bytes);
    this.#lastUse = performance.now();
    let buffer = this.#free.get(size)?.pop();
    if (buffer) this.#freeBytes -= size;
    else buffer = new ArrayBuffer(size);
    this.#lent.add(buffer);
    return new Uint8Array(buffer, 0, bytes);
  }

  /** Takes back the buffer under `values` (any view of a buffer {@link take} handed out). */
  give(values: ArrayBufferView): void {
    const buffer = values.buffer;
    if (!(buffer instanceof ArrayBuffer) || !this.#lent.has(buffer)) return;
    this.#lent.delete(buffer);
    const size = buffer.byteLength;
    if (this.#freeBytes + size > this.#maxFreeBytes) return;
    const kept = this.#free.get(size);
    if (kept) kept.push(buffer);
    else this.#free.set(size, [buffer]);
    this.#freeBytes += size;
    this.#lastUse = performance.now();
    this.#timer ??= setTimeout(() => this.#dropIdle(), this.#idleMs).unref();
  }

  /** Bytes of the free buffers kept. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** Drops every free buffer. */
  clear(): void {
    this.#free.clear();
    this.#freeBytes = 0;
  }

  #dropIdle(): void {
    this.#timer = undefined;
    const idle = performance.now() - this.#lastUse;
    if (idle >= this.#idleMs) this.clear();
    else if (this.#freeBytes > 0)
      this.#timer = setTimeout(() => this.#dropIdle(), this.#idleMs - idle).unref();
  }

  #sizeClass(bytes: number): number | undefined {
    if (bytes < this.#minBytes || bytes > this.#maxBytes) return undefined;
    return 2 ** Math.ceil(Math.log2(bytes));
  }
}
