/**
 * A writer for the lock race tests: writes `DIR/ready-PID`, waits for `DIR/go`, then `ROUNDS` times takes the store lock,
 * appends "enter PID" and "exit PID" lines to `DIR/log` around a short hold, and releases it.
 * Usage: node --import tsx lock-worker.ts DIR ROUNDS HOLD_MS
 */
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withStoreLock } from "../../src/store/lock.js";

const [dir, rounds, hold] = process.argv.slice(2) as [string, string, string];
writeFileSync(join(dir, `ready-${process.pid}`), "");
while (!existsSync(join(dir, "go"))) await new Promise((r) => setTimeout(r, 5));
for (let i = 0; i < Number(rounds); i++) {
  await withStoreLock(
    dir,
    async () => {
      appendFileSync(join(dir, "log"), `enter ${process.pid}\n`);
      await new Promise((r) => setTimeout(r, Number(hold)));
      appendFileSync(join(dir, "log"), `exit ${process.pid}\n`);
    },
    { timeoutMs: 60_000 },
  );
}
