import { SourceError } from "../errors.js";
import { checkRange } from "./file.js";
import type { ByteSource, ReadOptions } from "./types.js";

/**
 * Wraps bytes already in memory as a {@link ByteSource}. Reads return views (no copies).
 * @param url defaults to `memory:` plus the length, only used in messages.
 */
export function fromBytes(bytes: Uint8Array, url: string | URL = `memory:${bytes.length}`): ByteSource {
  const href = new URL(url);
  return {
    url: href,
    size: async (opts?: ReadOptions) => {
      opts?.signal?.throwIfAborted();
      return bytes.length;
    },
    async read(offset: number, length: number, opts?: ReadOptions) {
      checkRange(offset, length, href);
      opts?.signal?.throwIfAborted();
      if (offset + length > bytes.length) {
        throw new SourceError(
          `range ${offset}+${length} passes the end of ${href.href} (size ${bytes.length})`,
          {
            status: 416,
            url: href.href,
          },
        );
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}
