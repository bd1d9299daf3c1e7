/**
 * ZSTD for the store's pages: frames whose blocks are all stored (raw) or one repeated byte (RLE)
 * are read here, the others by fzstd. zstd stores a block raw when compressing does not make it
 * smaller, which for a store's small pages is most of them: 137 of the 215 pages a demo query's
 * selection decodes are one raw block. Read by fzstd, each such page ran its frame and block code,
 * cold in a one-off command (most of fzstd's time before the first request); here it is the
 * page's own bytes, not copied when the frame is one raw block. Frames per RFC 8878.
 */

/** Bytes of the frame header fields after the descriptor, by its flags. */
const DICTIONARY_ID_BYTES = [0, 1, 2, 4];

/**
 * The content of `input` when it is one zstd frame made of raw and RLE blocks only (its checksum,
 * if any, is not checked, as fzstd does not), else undefined: a compressed block, a skippable
 * frame, more than one frame, or bytes that are not a whole frame.
 */
export function storedFrameContent(input: Uint8Array): Uint8Array | undefined {
  const n = input.length;
  if (n < 8 || input[0] !== 0x28 || input[1] !== 0xb5 || input[2] !== 0x2f || input[3] !== 0xfd)
    return undefined;
  const descriptor = input[4]!;
  // Reserved bit set: not a frame this reader knows.
  if (descriptor & 0x08) return undefined;
  const singleSegment = (descriptor >> 5) & 1;
  const sizeFlag = descriptor >> 6;
  const checksum = (descriptor >> 2) & 1;
  const contentSizeBytes = sizeFlag === 0 ? singleSegment : 1 << sizeFlag;
  let pos = 5 + (singleSegment ? 0 : 1) + DICTIONARY_ID_BYTES[descriptor & 3]! + contentSizeBytes;
  // A frame with a dictionary needs it to decode compressed blocks only; raw ones are read alike.
  const blocks: [start: number, size: number, rle: boolean][] = [];
  let total = 0;
  for (;;) {
    if (pos + 3 > n) return undefined;
    const header = input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16);
    pos += 3;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 0) {
      if (pos + size > n) return undefined;
      blocks.push([pos, size, false]);
      pos += size;
    } else if (type === 1) {
      if (pos + 1 > n) return undefined;
      blocks.push([pos, size, true]);
      pos += 1;
    } else return undefined;
    total += size;
    if (header & 1) break;
  }
  if (pos + 4 * checksum !== n) return undefined;
  if (blocks.length === 1 && !blocks[0]![2]) return input.subarray(blocks[0]![0], blocks[0]![0] + total);
  const out = new Uint8Array(total);
  let at = 0;
  for (const [start, size, rle] of blocks) {
    if (rle) out.fill(input[start]!, at, at + size);
    else out.set(input.subarray(start, start + size), at);
    at += size;
  }
  return out;
}
