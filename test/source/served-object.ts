/**
 * One object of random bytes served with range requests by a real server on loopback, for the tests
 * of the HTTP readers (http-socket.test.ts, http-thread.test.ts): the server starts before the file's
 * tests, its faults and counters are reset after each, and it stops after the last.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import type { Fault, RangeServer } from "../../fixtures/servers/range-server.js";
import { startRangeServer } from "../../fixtures/servers/range-server.js";

/** Bytes of the object. */
export const SIZE = 3_000_000;

/** Ranges of every size class the index and the query read: a byte, pieces, lines of 64 KiB to 2 MB. */
export const RANGES: [number, number][] = [
  [0, 1],
  [17, 1000],
  [65_530, 70_000],
  [1_000_000, 1_048_576],
  [SIZE - 2_000_000, 2_000_000],
  [SIZE - 1, 1],
];

/** Faults the first `n` requests, then serves normally. */
export function firstN(n: number, fault: Fault) {
  let left = n;
  return () => (left-- > 0 ? fault : undefined);
}

export interface ServedObject {
  /** The folder served (the object is `object.bin` in it). */
  readonly dir: string;
  readonly content: Buffer;
  readonly server: RangeServer;
  /** Expects `got` to be the object's `length` bytes at `offset`. */
  expectBytes(got: Uint8Array, offset: number, length: number): void;
}

/** Writes the object into a new folder named from `prefix` and registers the server's hooks. */
export function servedObject(prefix: string): ServedObject {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const content = randomBytes(SIZE);
  writeFileSync(join(dir, "object.bin"), content);
  let server: RangeServer | undefined;
  beforeAll(async () => {
    server = await startRangeServer({ root: dir });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    server?.setFault(undefined);
    server?.resetStats();
  });
  return {
    dir,
    content,
    get server() {
      if (!server) throw new Error("the range server starts before the tests");
      return server;
    },
    expectBytes(got, offset, length) {
      expect(got.length).toBe(length);
      const bytes = Buffer.from(got.buffer, got.byteOffset, got.length);
      expect(Buffer.compare(bytes, content.subarray(offset, offset + length))).toBe(0);
    },
  };
}
