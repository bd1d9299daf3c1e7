/**
 * A thread of the store scale benchmark's bulk build: writes the cycles it is sent from the shared
 * pool (bulk-pool.ts) and answers each with its part set (the process's CPU time, every thread's, is measured by the main thread).
 */
import { parentPort, workerData } from "node:worker_threads";
import { type Pool, writeCycle } from "./bulk-pool.js";

const { pool, storeDir } = workerData as { pool: Pool; storeDir: string };

parentPort!.on("message", async (cycle: number) => {
  try {
    parentPort!.postMessage({ cycle, part: await writeCycle(pool, cycle, storeDir) });
  } catch (err) {
    parentPort!.postMessage({
      cycle,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
});
