/** Worker thread of an indexing run: runs the steps of granule jobs that pool.ts sends it. */
import { parentPort, workerData } from "node:worker_threads";
import type { SourceOptions } from "../source/index.js";
import { createLimiter } from "../source/limit.js";
import { type GranuleJob, LINE_GATE, openGranuleJob } from "./job.js";
import { errorToMessage, type JobReply, type JobRequest, type WorkerInit } from "./worker-protocol.js";

const init = workerData as WorkerInit;
/** This thread's granules fetch their lines ahead in the order they were opened (see LINE_GATE). */
const lineGate = createLimiter(LINE_GATE);
const source: SourceOptions | undefined = init.warnings
  ? {
      ...init.source,
      http: {
        ...init.source?.http,
        onWarning: (warning) => parentPort!.postMessage({ id: -1, warning } satisfies JobReply),
      },
    }
  : init.source;
const jobs = new Map<number, GranuleJob>();

/** The value of one step (the job is opened by `open` and forgotten by `close`). */
async function run(request: JobRequest): Promise<unknown> {
  if (request.step === "ready") return undefined;
  if (request.step === "open") {
    const job = await openGranuleJob(request.input!, {
      lineGate,
      product: init.product,
      source,
      dmrpp: init.dmrpp,
      link: init.link,
      onWarning: init.granuleWarnings
        ? (granuleWarning) => parentPort!.postMessage({ id: -1, granuleWarning } satisfies JobReply)
        : undefined,
    });
    jobs.set(request.job, job);
    return job.url;
  }
  const job = jobs.get(request.job);
  if (!job) throw new Error(`no open job ${request.job} in this index worker`);
  switch (request.step) {
    case "fingerprint":
      return job.fingerprint(request.arg as Parameters<GranuleJob["fingerprint"]>[0]);
    case "chunkChange":
      return job.chunkChange(request.arg as Parameters<GranuleJob["chunkChange"]>[0]);
    case "identify":
      return job.identify();
    case "index":
      return job.index(request.arg as Parameters<GranuleJob["index"]>[0]);
    case "readsDone":
      return job.readsDone();
    case "stats":
      return job.stats();
    case "close":
      jobs.delete(request.job);
      return job.close();
  }
}

parentPort!.on("message", (request: JobRequest) => {
  run(request).then(
    (value) => parentPort!.postMessage({ id: request.id, value } satisfies JobReply),
    (err: unknown) =>
      parentPort!.postMessage({ id: request.id, error: errorToMessage(err) } satisfies JobReply),
  );
});
