/** Where a result's bytes go when they go somewhere other than a local file (an S3 upload). */
import { createWriteStream } from "node:fs";
import { Writable } from "node:stream";

/**
 * A sequential byte sink: bytes are written front to back, never rewritten. `write` resolves when the
 * bytes may be reused and the sink is ready for more, so a writer awaiting it is held back by a slow
 * sink (memory stays bounded by what the sink buffers).
 */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** `target` as a web stream of bytes: a new file at that path (created, never replaced) or the sink. */
export function byteStream(target: string | ByteSink): WritableStream<Uint8Array> {
  return typeof target === "string"
    ? (Writable.toWeb(createWriteStream(target, { flags: "wx" })) as WritableStream<Uint8Array>)
    : new WritableStream<Uint8Array>({ write: (chunk) => target.write(chunk) });
}
