/** Worker threads whose script lies beside the module that starts them. */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * A worker thread running the script `name` (its base name, no extension) beside the module at
 * `moduleUrl` (that module's `import.meta.url`): the compiled `name.js`, or, when the module runs from
 * its TypeScript source (tests, benchmarks), `name.ts` through a small loader that registers tsx in the
 * thread first.
 */
export function workerBeside(moduleUrl: string, name: string, opts: WorkerOptions = {}): Worker {
  if (!moduleUrl.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, moduleUrl), opts);
  // tsx's ESM entry, found from the module (its CommonJS entry cannot register hooks from a thread).
  const tsxDir = dirname(createRequire(moduleUrl).resolve("tsx/package.json"));
  const tsx = pathToFileURL(join(tsxDir, "dist", "esm", "api", "index.mjs")).href;
  const script = new URL(`./${name}.ts`, moduleUrl).href;
  const loader = `import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(script)}))`;
  return new Worker(loader, { ...opts, eval: true });
}
