/**
 * V8's compiler settings for the command's process, set when the command starts (the first module
 * `bin.ts` imports), before the query's code and the writer thread's WebAssembly compile: a one-off
 * command spends more CPU recompiling hot code with V8's optimising compilers than the optimised
 * code saves it. Process-wide, so the GeoParquet writer thread has them too. The library leaves
 * node's settings alone (a long-running process gains from them). Measured in docs/design/startup.md.
 */
import { setFlagsFromString } from "node:v8";

/**
 * Work a WebAssembly function runs before V8 optimises it (node's default: 1.8 M). parquet-wasm's
 * encoder, optimised from its first file with the default, cost 0.32-0.42 s of CPU for a 42 674-row
 * result against 0.09-0.10 s with this budget, which still optimises a long run's encoder after a few
 * hundred thousand rows.
 */
const WASM_TIERING_BUDGET = 100_000_000;

/**
 * Bytecode a JavaScript function runs before V8 considers optimising it (node's default: 67 584):
 * sixteen times as much, so a run optimises only its hottest loops. An index build of 24 full-size
 * granules compiled 180 functions with TurboFan at four times (835 ms of compiler CPU, on V8's helper
 * threads beside the two busy ones) and 88 at sixteen (441 ms); 32 and 64 times were slower again.
 * Queries measured the same from four to thirty times (docs/design/startup.md).
 */
const INTERRUPT_BUDGET = 16 * 67_584;

/**
 * Young generation's starting semi-space, MB (V8 starts at 1 MB by default and grows it as a program allocates).
 * Read when a heap is made, so it applies to the threads started after it (the GeoParquet writer
 * thread), not to the main thread's heap, made before any module ran: the writer thread's start-up
 * and first file scavenged 6-7 times with the default, not once with this (--trace-gc; demo query,
 * 36 188 rows), for 16 MB of young space touched at most.
 */
const WORKER_SEMI_SPACE_MB = 16;

setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
setFlagsFromString(`--min-semi-space-size=${WORKER_SEMI_SPACE_MB}`);
// WebAssembly functions validated when first called, as they are compiled (lazily, node's default),
// rather than all of them when the module is made: parquet-wasm's 5 MB module, made in each writer
// thread, cost that thread 38-48 ms of CPU to load with every function validated, 25-35 ms this way.
setFlagsFromString("--wasm-lazy-validation");
