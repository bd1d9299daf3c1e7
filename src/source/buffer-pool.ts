/** Buffers handed out, given back and handed out again, so that fresh memory is not paid for twice. */

/** Options of {@link BufferPool}. */
export interface BufferPoolOptions {
  /** Smaller buffers are plain allocations, never kept (they live on the JavaScript heap's side cheaply). Default 64 KiB. */
  minBytes?: number;
  /** Larger buffers are plain allocations, never kept. Default 64 MiB. */
  maxBytes?: number;
  /** Most bytes of free buffers kept; buffers given back beyond it are left to the garbage collector. Default 96 MiB. */
  maxFreeBytes?: number;
  /** Free buffers are dropped after this long without a buffer taken or given back, ms. Default 1000. */
  idleMs?: number;
  /**
   * Buffers made and matched at the exact size asked for, rather than rounded up to a power of two:
   * for uses whose sizes repeat (the whole-file lines of source/line-pool.ts), without the rounding's
   * memory for the others. Default false.
   */
  exactSizes?: boolean;
  /** Makes a new buffer of `bytes` bytes (an ArrayBuffer or a SharedArrayBuffer); default `new ArrayBuffer` (zeroed). */
  allocate?: (bytes: number) => ArrayBufferLike;
  /** Buffers in shared memory: `allocate` defaults to `new SharedArrayBuffer`, and {@link BufferPool.shared} is true. */
  shared?: boolean;
}

/**
 * Buffers by size class (powers of two from `minBytes` to `maxBytes`, or exact sizes): {@link take} hands out a free
 * buffer of the class or a new one, {@link give} takes back a buffer it handed out, once. The caller
 * gives a buffer back only when neither it nor anything it passed the values to will read them again
 * (the next {@link take} of the class may write over them); a buffer never given back is collected as
 * any other. Buffers it did not hand out, and buffers given back twice, are ignored.
 */
export class BufferPool {
  readonly #free = new Map<number, ArrayBufferLike[]>();
  /** Buffers handed out and not yet given back. */
  readonly #lent = new WeakSet<ArrayBufferLike>();
  readonly #minBytes: number;
  readonly #maxBytes: number;
  readonly #maxFreeBytes: number;
  readonly #idleMs: number;
  readonly #exactSizes: boolean;
  readonly #allocate: (bytes: number) => ArrayBufferLike;
  /** True when the buffers are SharedArrayBuffers (see {@link BufferPoolOptions.shared}). */
  readonly shared: boolean;
  #freeBytes = 0;
  #reused = 0;
  #lastUse = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: BufferPoolOptions = {}) {
    this.#minBytes = opts.minBytes ?? 64 * 1024;
    this.#maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.#maxFreeBytes = opts.maxFreeBytes ?? 96 * 1024 * 1024;
    this.#idleMs = opts.idleMs ?? 1000;
    this.#exactSizes = opts.exactSizes ?? false;
    this.shared = opts.shared ?? false;
    this.#allocate =
      opts.allocate ??
      (this.shared ? (bytes) => new SharedArrayBuffer(bytes) : (bytes) => new ArrayBuffer(bytes));
  }

  take(bytes: number): Uint8Array {
    const size = this.#sizeClass(bytes);
    if (size === undefined) return new Uint8Array(this.#allocate(bytes));
    this.#lastUse = performance.now();
    let buffer = this.#free.get(size)?.pop();
    if (buffer) {
      this.#freeBytes -= size;
      this.#reused += 1;
    } else buffer = this.#allocate(size);
    this.#lent.add(buffer);
    return new Uint8Array(buffer, 0, bytes);
  }

  /** Takes back the buffer under `values` (any view of a buffer {@link take} handed out). */
  give(values: ArrayBufferView): void {
    const buffer = values.buffer;
    if (!this.#lent.has(buffer)) return;
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

  /** How many {@link take}s were served with a buffer given back before. */
  get reused(): number {
    return this.#reused;
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
    return this.#exactSizes ? bytes : 2 ** Math.ceil(Math.log2(bytes));
  }
}
