/**
 * A thread of the store scale benchmark's bulk build: writes the cycles it is sent from the shared
 * pool (bulk-pool.ts), learning first of the files other threads wrote (so it splices from them),
 * and answers each with its part set, the files it wrote and how many tiles it encoded whole and
 * spliced (the process's CPU time, every thread's, is measured by the main thread).
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  addWritten,
  cycleCounts,
  type Pool,
  takeWritten,
  type WrittenFiles,
  writeCycle,
} from "./bulk-pool.js";

const { pool, storeDir } = workerData as { pool: Pool; storeDir: string };

parentPort!.on("message", async ({ cycle, known }: { cycle: number; known: WrittenFiles }) => {
  try {
    addWritten(known);
    const before = { ...cycleCounts };
    const part = await writeCycle(pool, cycle, storeDir);
    const counts = { whole: cycleCounts.whole - before.whole, spliced: cycleCounts.spliced - before.spliced };
    parentPort!.postMessage({ cycle, part, written: takeWritten(), counts });
  } catch (err) {
    parentPort!.postMessage({
      cycle,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
});
