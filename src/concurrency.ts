/** The one concurrency helper of orchestration code; the library core imposes no limit itself. */

/**
 * Maps `items` through `fn` with at most `limit` calls in flight; results keep the input order.
 * Rejects with the first failure (calls already started are left to settle).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Limits of {@link mapPipelined}. */
export interface PipelineLimits {
  /** Items in their reading phase at once (from their start until they call `readsDone`). */
  reading: number;
  /** Items started and not finished at once, reading or not (what bounds memory). */
  open: number;
  /**
   * Items past `reading` open at once start only while the items done reading and not finished hold
   * fewer bytes than this (what each told its `readsDone`); default no bound but `open`.
   */
  heldBytes?: number;
}

/**
 * Like {@link mapLimit}, but an item counts against `limits.reading` only until it calls the
 * `readsDone` it is given (or finishes): then the next item starts, as long as fewer than
 * `limits.open` are unfinished. Items whose input arrives in one phase and is worked on in the next
 * (a granule fetched, then indexed) keep the link busy while earlier ones are worked on. Items start in
 * order; results keep it. Rejects with the first error, after which no item starts. An item may tell
 * `readsDone` the bytes it holds until it finishes (`limits.heldBytes`).
 */
export function mapPipelined<T, R>(
  items: readonly T[],
  limits: PipelineLimits,
  fn: (item: T, index: number, readsDone: (heldBytes?: number) => void) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  const reading = Math.max(1, limits.reading);
  const open = Math.max(reading, limits.open);
  const maxHeld = limits.heldBytes ?? Number.POSITIVE_INFINITY;
  return new Promise<R[]>((resolve, reject) => {
    let next = 0;
    let readingNow = 0;
    let openNow = 0;
    let heldNow = 0;
    let failed = false;
    const pump = () => {
      if (failed) return;
      if (next >= items.length && openNow === 0) {
        resolve(out);
        return;
      }
      while (
        next < items.length &&
        readingNow < reading &&
        openNow < open &&
        (openNow < reading || heldNow < maxHeld)
      ) {
        const i = next++;
        readingNow++;
        openNow++;
        let read = false;
        let held = 0;
        // The item's reads are done (`finished`: the item too); either makes room for the next.
        const release = (finished: boolean, heldBytes = 0) => {
          if (!read) {
            read = true;
            readingNow--;
            if (!finished) {
              held = heldBytes;
              heldNow += held;
            }
          }
          if (finished) {
            openNow--;
            heldNow -= held;
            held = 0;
          }
          queueMicrotask(pump);
        };
        let result: Promise<R>;
        try {
          result = fn(items[i]!, i, (heldBytes) => release(false, heldBytes));
        } catch (err) {
          result = Promise.reject(err);
        }
        result.then(
          (value) => {
            out[i] = value;
            release(true);
          },
          (err: unknown) => {
            failed = true;
            reject(err);
          },
        );
      }
    };
    pump();
  });
}
