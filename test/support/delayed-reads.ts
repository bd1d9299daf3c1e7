import { seededRandom } from "../../fixtures/index/synthetic-index.js";
import type { ByteSource } from "../../src/source/index.js";

/** The source's reads, each answered after a delay of 0-4 ms drawn from `seed`: another order each seed. */
export function delayedReads(source: ByteSource, seed: number): ByteSource {
  const random = seededRandom(seed);
  return {
    url: source.url,
    size: (o) => source.size(o),
    read: async (offset, length, o) => {
      const bytes = await source.read(offset, length, o);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 5)));
      return bytes;
    },
  };
}
