/**
 * An ordered sequence of integer ids 0..capacity-1 held as a treap (a binary search tree balanced
 * by random priorities), with no keys of its own: it is split by a predicate that holds for a
 * prefix of the sequence, and joined by concatenation. Several sequences may share one Treap
 * (each is the id of its root, -1 when empty); an id belongs to at most one at a time. Expected
 * O(log n) per split or merge.
 */
export class Treap {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly priority: Uint32Array;
  /** After {@link split}: the root of the prefix for which the predicate held (-1 when empty). */
  splitBefore = -1;
  /** After {@link split}: the root of the rest (-1 when empty). */
  splitAfter = -1;

  /** A treap for ids below `capacity`; priorities come from a fixed seed, so runs repeat exactly. */
  constructor(capacity: number) {
    this.left = new Int32Array(capacity).fill(-1);
    this.right = new Int32Array(capacity).fill(-1);
    this.priority = new Uint32Array(capacity);
    let state = 0x9e3779b9;
    for (let id = 0; id < capacity; id++) {
      // xorshift32: any well-mixed sequence keeps the tree's depth logarithmic.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      this.priority[id] = state >>> 0;
    }
  }

  /** A sequence of the single id `id` (which must be in no sequence). */
  single(id: number): number {
    this.left[id] = -1;
    this.right[id] = -1;
    return id;
  }

  /**
   * Splits sequence `root` into the prefix of ids for which `before` holds and the rest, left in
   * {@link splitBefore} and {@link splitAfter}. `before` must hold for a prefix only.
   */
  split(root: number, before: (id: number) => boolean): void {
    let beforeRoot = -1;
    let afterRoot = -1;
    let beforeTail = -1;
    let afterTail = -1;
    let t = root;
    while (t !== -1) {
      if (before(t)) {
        if (beforeTail === -1) beforeRoot = t;
        else this.right[beforeTail] = t;
        beforeTail = t;
        t = this.right[t]!;
      } else {
        if (afterTail === -1) afterRoot = t;
        else this.left[afterTail] = t;
        afterTail = t;
        t = this.left[t]!;
      }
    }
    if (beforeTail !== -1) this.right[beforeTail] = -1;
    if (afterTail !== -1) this.left[afterTail] = -1;
    this.splitBefore = beforeRoot;
    this.splitAfter = afterRoot;
  }

  /** The concatenation of sequences `a` then `b`. */
  merge(a: number, b: number): number {
    if (a === -1) return b;
    if (b === -1) return a;
    if (this.priority[a]! > this.priority[b]!) {
      this.right[a] = this.merge(this.right[a]!, b);
      return a;
    }
    this.left[b] = this.merge(a, this.left[b]!);
    return b;
  }

  /** The first id of a sequence, or -1 when it is empty. */
  first(root: number): number {
    let t = root;
    if (t === -1) return -1;
    while (this.left[t] !== -1) t = this.left[t]!;
    return t;
  }

  /** The last id of a sequence, or -1 when it is empty. */
  last(root: number): number {
    let t = root;
    if (t === -1) return -1;
    while (this.right[t] !== -1) t = this.right[t]!;
    return t;
  }

  /** The ids of a sequence in order. */
  toArray(root: number): number[] {
    const out: number[] = [];
    const stack: number[] = [];
    let t = root;
    while (t !== -1 || stack.length > 0) {
      while (t !== -1) {
        stack.push(t);
        t = this.left[t]!;
      }
      t = stack.pop()!;
      out.push(t);
      t = this.right[t]!;
    }
    return out;
  }
}
