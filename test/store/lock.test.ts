import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isGeochunksError } from "../../src/errors.js";
import { withStoreLock } from "../../src/store/lock.js";
import { removeTemporariesSync } from "../../src/store/temporaries.js";
import { ROOT } from "../support/cli.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited (and so names no live process for a while). */
function deadPid(): number {
  return Number(
    spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString(),
  );
}

/** Runs `count` lock workers that start together; resolves with their exit codes. */
async function race(store: string, count: number, rounds: number): Promise<number[]> {
  const worker = join(ROOT, "test/store/lock-worker.ts");
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ["--import", "tsx", worker, store, String(rounds), "15"], { stdio: "inherit" }),
  );
  const codes = children.map(
    (c) => new Promise<number>((resolve) => c.on("close", (code) => resolve(code ?? -1))),
  );
  // Once every worker waits on the go file, they reach the lock together.
  while (readdirSync(store).filter((f) => f.startsWith("ready-")).length < count)
    await new Promise((r) => setTimeout(r, 20));
  writeFileSync(join(store, "go"), "");
  return Promise.all(codes);
}

/** The log's enter/exit lines strictly alternate, each exit by the process that entered. */
function expectNoOverlap(log: string, pairs: number) {
  const lines = log.trim().split("\n");
  expect(lines).toHaveLength(2 * pairs);
  for (let i = 0; i < lines.length; i += 2) {
    const pid = lines[i]!.replace(/^enter /, "");
    expect([lines[i], lines[i + 1]]).toEqual([`enter ${pid}`, `exit ${pid}`]);
  }
}

const leftovers = (d: string) => readdirSync(d).filter((f) => f.startsWith("manifest.lock"));

describe("the store lock", () => {
  // One stale lock of each kind, each broken by five processes at once (three turns each).
  const stale: Record<string, () => string> = {
    "a dead process's lock": () =>
      JSON.stringify({ owner: "x", pid: deadPid(), host: hostname(), since: "x" }),
    "an empty lock (a writer killed between create and write)": () => "",
    "a garbage lock": () => "{not json",
  };
  for (const [name, contents] of Object.entries(stale)) {
    it(`${name}: many processes breaking it at once never both hold the lock`, async () => {
      dir = mkdtempSync(join(tmpdir(), "geochunks-lock-"));
      const lock = join(dir, "manifest.lock");
      writeFileSync(lock, contents());
      const old = new Date(Date.now() - 60_000);
      utimesSync(lock, old, old);
      expect(await race(dir, 5, 3)).toEqual([0, 0, 0, 0, 0]);
      expectNoOverlap(readFileSync(join(dir, "log"), "utf8"), 15);
      expect(leftovers(dir)).toEqual([]);
    }, 60_000);
  }

  it("carries owner, host, pid and time while held, and is gone after", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-lock-"));
    const held = await withStoreLock(dir, async () =>
      JSON.parse(readFileSync(join(dir!, "manifest.lock"), "utf8")),
    );
    expect(held).toEqual({
      owner: expect.stringMatching(/^[0-9a-f]{12}$/),
      host: hostname(),
      pid: process.pid,
      since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(leftovers(dir)).toEqual([]);
  });

  it("an interrupt removes the lock while it names this holder, and not once another writer holds it", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-lock-"));
    const lock = join(dir, "manifest.lock");
    await withStoreLock(dir, async () => {
      expect(removeTemporariesSync()).toEqual([lock]);
      expect(readdirSync(dir!)).not.toContain("manifest.lock");
    });
    await withStoreLock(dir, async () => {
      // Ours was broken as stale and another writer took the lock: an interrupt now leaves it alone.
      const mine = JSON.parse(readFileSync(lock, "utf8"));
      writeFileSync(lock, JSON.stringify({ ...mine, owner: "another" }));
      expect(removeTemporariesSync()).toEqual([]);
      expect(readdirSync(dir!)).toContain("manifest.lock");
    });
    expect(readdirSync(dir)).toContain("manifest.lock");
  });

  it("a live holder makes another writer give up with a runtime error naming it", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-lock-"));
    const d = dir;
    const err = await withStoreLock(d, () =>
      withStoreLock(d, async () => "entered", { timeoutMs: 300 }).catch((e: unknown) => e),
    );
    expect(isGeochunksError(err, "StoreBusyError")).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^${d}: store is locked by process ${process.pid} on ${hostname()} since \\d{4}-.*; gave up after 0 s, retry later$`,
      ),
    );
    expect(leftovers(d)).toEqual([]);
  });

  it("a fresh empty lock is not broken at once (it may be an older writer's, being written)", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-lock-"));
    writeFileSync(join(dir, "manifest.lock"), "");
    const err = await withStoreLock(dir, async () => "entered", { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(isGeochunksError(err, "StoreBusyError")).toBe(true);
    // Within seconds it is stale and broken.
    expect(await withStoreLock(dir, async () => "entered", { timeoutMs: 10_000 })).toBe("entered");
  });
});
