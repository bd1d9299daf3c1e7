import type { ByteSource } from "./types.js";
import { xxhash32 } from "./xxhash32.js";

/** What {@link withReadRecording} kept of the reads that passed through it. */
export interface RecordedReads {
  /**
   * XXH32 of bytes [offset, offset + length) when one recorded read holds them all, else
   * undefined (those bytes were never read, or only in pieces).
   */
  checksumOf(offset: number, length: number): number | undefined;
  /**
   * Takes the XXH32 of bytes [offset, offset + length) of a recorded read, computed elsewhere (the
   * inflate worker, which holds a copy of them), as {@link checksumOf}'s answer for that range.
   */
  remember(offset: number, length: number, sum: number): void;
}

/**
 * Keeps the bytes of every read that passes through a source, so that checksums of any range
 * inside one of them can be computed afterwards without reading it again. Meant for the reads of
 * one job (indexing one granule): the bytes are held as long as the recording is.
 * @example const { source, recorded } = withReadRecording(raw); ... recorded.checksumOf(4096, 39000)
 */
export function withReadRecording(source: ByteSource): { source: ByteSource; recorded: RecordedReads } {
  const reads: { offset: number; bytes: Uint8Array }[] = [];
  let sorted = true;
  let longest = 0;
  const wrapped: ByteSource = {
    url: source.url,
    size: (opts) => source.size(opts),
    async read(offset, length, opts) {
      const bytes = await source.read(offset, length, opts);
      if (reads.length > 0 && offset < reads.at(-1)!.offset) sorted = false;
      reads.push({ offset, bytes });
      longest = Math.max(longest, bytes.length);
      return bytes;
    },
  };
  // Keyed by offset (a chunk row names each chunk once per dataset row that overlaps it), with its length.
  const memo = new Map<number, { length: number; sum: number | undefined }>();
  const checksumOf = (offset: number, length: number) => {
    const known = memo.get(offset);
    if (known?.length === length) return known.sum;
    if (!sorted) {
      reads.sort((a, b) => a.offset - b.offset);
      sorted = true;
    }
    const held = holding(reads, offset, length, longest);
    const sum = held ? xxhash32(held) : undefined;
    memo.set(offset, { length, sum });
    return sum;
  };
  const remember = (offset: number, length: number, sum: number) => {
    memo.set(offset, { length, sum });
  };
  return { source: wrapped, recorded: { checksumOf, remember } };
}

/** Bytes [offset, offset + length) out of the first read (sorted by offset) that holds them all. */
function holding(
  reads: readonly { offset: number; bytes: Uint8Array }[],
  offset: number,
  length: number,
  longest: number,
): Uint8Array | undefined {
  // Last read starting at or before `offset`, then back through those that could still reach past it.
  let lo = 0;
  let hi = reads.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (reads[mid]!.offset <= offset) lo = mid + 1;
    else hi = mid;
  }
  for (let k = lo - 1; k >= 0 && reads[k]!.offset + longest >= offset + length; k--) {
    const r = reads[k]!;
    const start = offset - r.offset;
    if (start + length <= r.bytes.length) return r.bytes.subarray(start, start + length);
  }
  return undefined;
}
