/** A response body's pieces on their way to its one reader (the HTTP transports' replies). */
export class BodyPieces {
  readonly #pieces: Uint8Array[] = [];
  #ended = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  /** Adds a piece after the others; a waiting reader wakes. */
  push(piece: Uint8Array): void {
    this.#pieces.push(piece);
    this.#notify();
  }

  /** Drops the pieces not read yet. */
  drop(): void {
    this.#pieces.length = 0;
  }

  /** No piece comes after those pushed: reads return them, then undefined. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** The body failed: reads return the pieces pushed, then throw `err` (the first one given). */
  fail(err: Error): void {
    this.#failure ??= err;
    this.#notify();
  }

  /** The next piece; undefined once the body has ended. Rejects once it failed and every piece is read. */
  async read(): Promise<Uint8Array | undefined> {
    for (;;) {
      const piece = this.#pieces.shift();
      if (piece !== undefined) return piece;
      if (this.#ended) return undefined;
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
