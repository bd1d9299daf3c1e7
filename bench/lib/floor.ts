/**
 * The floor model: the least time a query can take on a link, from what it must do at the least. One
 * wave of requests per `pool` requests (every granule's chunks in one round), each wave one latency; the
 * answer's bytes (bytes_minimal) over the link's bandwidth; and the CPU the query spent (inflate, point
 * tests, row building, writing) spread over the cores. Start-up is not a term: every contender is timed
 * without its interpreter's start-up (bench/startup.ts measures the command's own).
 */

/** What the floor of one query is made of. */
export interface FloorInputs {
  /** Injected latency per request, milliseconds. */
  latencyMs: number;
  /** Requests the answer needs (geochunks' coalesced ranges). */
  requests: number;
  /** Requests in flight at once (the query's pool). */
  pool: number;
  /** Bytes the answer needs (bytes_minimal). */
  bytes: number;
  /** Bandwidth of the link, bytes per second; undefined for the uncapped loopback (transfer taken as free). */
  bytesPerSecond?: number;
  /** CPU the query spent, seconds (all threads). */
  cpuSeconds: number;
  /** Cores to spread it over. */
  cores: number;
}

/** The floor and its terms, seconds. */
export interface Floor {
  /** Waves of requests, one latency each. */
  rounds: number;
  latency: number;
  transfer: number;
  cpu: number;
  seconds: number;
}

/** The floor model of one query (see the file's comment). */
export function floorModel(i: FloorInputs): Floor {
  const rounds = Math.max(1, Math.ceil(i.requests / i.pool));
  const latency = (rounds * i.latencyMs) / 1000;
  const transfer = i.bytesPerSecond ? i.bytes / i.bytesPerSecond : 0;
  const cpu = i.cpuSeconds / Math.max(1, i.cores);
  return { rounds, latency, transfer, cpu, seconds: latency + transfer + cpu };
}

/**
 * The best ratio download-then-read can show against geochunks on a link: downloading the listed granules
 * whole takes at least their bytes over the link plus one latency (every download in flight at once, no
 * read time at all); geochunks takes at least its floor's latency rounds and bytes_minimal over the link.
 * A goal of N x over download-then-read is reachable on an AOI only when `bytesAndLatency` >= N.
 */
export interface DownloadBound {
  /** Least time to download the listed granules whole, seconds. */
  downloadSeconds: number;
  /** downloadSeconds / (geochunks' latency rounds + transfer): the physical bound. */
  bytesAndLatency: number;
  /** downloadSeconds / the whole floor (with geochunks' measured CPU over the cores). */
  withCpu: number;
}

/** The bound of {@link DownloadBound}; undefined without a link bandwidth or listed bytes. */
export function downloadBound(
  floor: Floor,
  listedBytes: number,
  latencyMs: number,
  bytesPerSecond: number | undefined,
): DownloadBound | undefined {
  if (!bytesPerSecond || listedBytes <= 0) return undefined;
  const downloadSeconds = listedBytes / bytesPerSecond + latencyMs / 1000;
  return {
    downloadSeconds,
    bytesAndLatency: downloadSeconds / (floor.latency + floor.transfer),
    withCpu: downloadSeconds / floor.seconds,
  };
}

/**
 * The least time any reader of the answer's chunks can take on this machine, and so the best ratio a
 * peer can show against geochunks here: one round of latency, bytes_minimal over the link, and on the
 * cores the CPU that cannot be avoided, the decoding of bytes_minimal at this machine's measured rate
 * (bench/lib/inflate-rate.ts) and the range server's CPU for geochunks' requests (the loopback server
 * shares the cores, as an object store would not). Nothing else is counted (no HTTP parsing, point
 * tests or output), so the real least time is longer and the real best ratio lower.
 */
export interface DecodeBound {
  /** CPU seconds to decode bytes_minimal at the measured rate. */
  decodeSeconds: number;
  /** The range server's CPU seconds for geochunks' requests. */
  serverCpuSeconds: number;
  /** latency + transfer + (decodeSeconds + serverCpuSeconds) / cores. */
  seconds: number;
}

/** The bound of {@link DecodeBound}. */
export function decodeBound(i: {
  latencyMs: number;
  transfer: number;
  bytes: number;
  bytesPerCpuSecond: number;
  serverCpuSeconds: number;
  cores: number;
}): DecodeBound {
  const decodeSeconds = i.bytes / i.bytesPerCpuSecond;
  const cpu = (decodeSeconds + i.serverCpuSeconds) / Math.max(1, i.cores);
  return {
    decodeSeconds,
    serverCpuSeconds: i.serverCpuSeconds,
    seconds: i.latencyMs / 1000 + i.transfer + cpu,
  };
}

/** The floor of every AOI and latency of a run, from geochunks' rows. */
export interface RunFloor extends Floor {
  aoi: string;
  latencyMs: number;
  /** Bandwidth the floor's transfer used, bytes per second (undefined: uncapped loopback). */
  bytesPerSecond?: number;
  /** Best download-then-read / geochunks ratio on this AOI and link (undefined on the uncapped loopback). */
  download?: DownloadBound;
  /** The least time of any reader here (undefined when the run measured no decode rate). */
  decode?: DecodeBound;
}

/** What {@link runFloors} needs to know of the run besides its rows. */
export interface RunLink {
  /** Per-response cap, bytes per second. */
  bytesPerSecond?: number;
  /** Link cap shared by every response, bytes per second. */
  linkBytesPerSecond?: number;
  pool: number;
  cores: number;
  /** Bytes of the granules listed for each AOI (what download-then-read moves). */
  listedBytes?: ReadonlyMap<string, number>;
  /** Stored bytes this machine decodes per CPU second (bench/lib/inflate-rate.ts); none: no decode bound. */
  decodeBytesPerCpuSecond?: number;
}

/**
 * The floors of a run's queries: per AOI and latency, from geochunks' requests, bytes_minimal and CPU.
 * The bandwidth is the link's cap, else the per-response cap times the requests in flight, else none.
 */
export function runFloors(
  rows: readonly {
    aoi: string;
    latency: number;
    contender: string;
    requests: number;
    bytesMinimal: number;
    cpuSeconds: number;
    serverCpuSeconds?: number;
  }[],
  link: RunLink,
): RunFloor[] {
  return rows
    .filter((r) => r.contender === "geochunks")
    .map((g) => {
      const inFlight = Math.min(link.pool, g.requests);
      const bandwidth =
        link.linkBytesPerSecond ?? (link.bytesPerSecond ? link.bytesPerSecond * inFlight : undefined);
      const floor = floorModel({
        latencyMs: g.latency,
        requests: g.requests,
        pool: link.pool,
        bytes: g.bytesMinimal,
        bytesPerSecond: bandwidth,
        cpuSeconds: g.cpuSeconds,
        cores: link.cores,
      });
      const listed = link.listedBytes?.get(g.aoi) ?? 0;
      // Only a client link bounds a download: with per-response caps alone, more connections go faster.
      const downloadBandwidth = link.linkBytesPerSecond;
      return {
        aoi: g.aoi,
        latencyMs: g.latency,
        ...floor,
        bytesPerSecond: bandwidth,
        download: downloadBound(floor, listed, g.latency, downloadBandwidth),
        decode: link.decodeBytesPerCpuSecond
          ? decodeBound({
              latencyMs: g.latency,
              transfer: floor.transfer,
              bytes: g.bytesMinimal,
              bytesPerCpuSecond: link.decodeBytesPerCpuSecond,
              serverCpuSeconds: g.serverCpuSeconds ?? 0,
              cores: link.cores,
            })
          : undefined,
      };
    });
}
