/** The benchmark's outputs: goal checks, a Markdown report and a hand-made SVG chart. */
import type { RunFloor } from "./floor.js";
import type { ContenderRow, HarnessResult } from "./harness.js";
import type { InflateRate } from "./inflate-rate.js";
import type { MachineInfo } from "./stats.js";
import { mb } from "./stats.js";

/** Everything written to results/<date>.json. */
export interface BenchReport {
  date: string;
  /** The product benchmarked (ATL06, ATL03). */
  product: string;
  /** One phrase: what the archive's granules are. */
  archive: string;
  mode: "full" | "quick";
  command: string;
  machine: MachineInfo;
  /** Load average (1, 5, 15 min) when the run ended. */
  loadAtEnd: number[];
  /** Wall time of the whole run, generating missing granules included, seconds. */
  runSeconds?: number;
  source: string;
  granuleConcurrency: number;
  reps: number;
  slowReps: number;
  latencies: number[];
  bytesPerSecond: number | null;
  /** Cap of the client's link shared by every response, bytes per second (null: uncapped). */
  linkBytesPerSecond: number | null;
  /** The floor model of each AOI and latency (bench/lib/floor.ts). */
  floors: RunFloor[];
  /** This machine's decode rate of the query's stored chunks (bench/lib/inflate-rate.ts), when measured. */
  decodeRate?: InflateRate & { granules: number; datasets: string[] };
  contenders: { name: string; description: string }[];
  result: HarnessResult;
  goals: GoalCheck[];
  /** Set on the many-year archive run: its Greenland query is set beside SlideRule's published time. */
  sliderule?: PublishedRun;
}

/** A published time of another system, for a run over the same box. */
export interface PublishedRun {
  seconds: number;
  what: string;
  source: string;
}

/**
 * SlideRule's published Greenland run: `atl06sp` over the ICESat-2 hackweek's 40 x 40 km box (the
 * Greenland AOI here), 2018-10-13 to 2025-10-13, to GeoParquet, "Fetching data" 28.8 s.
 */
export const SLIDERULE_GREENLAND: PublishedRun = {
  seconds: 28.8,
  what: 'SlideRule atl06sp, hackweek 40 x 40 km Greenland box, 2018-10-13 to 2025-10-13, GeoParquet ("Fetching data")',
  source:
    "ICESAT-2HackWeek/virtual-insanity notebooks/dhdt_40km_tile_sliderule.ipynb (2025-08-22); README: about 25-30 s",
};

export interface GoalCheck {
  aoi: string;
  latency: number;
  goal: string;
  target: string;
  value: number | null;
  met: boolean | null;
  note?: string;
}

const find = (rows: ContenderRow[], aoi: string, latency: number, name: string) =>
  rows.find((r) => r.aoi === aoi && r.latency === latency && r.contender === name);

/** The link over which download-then-read is compared (a laptop's), bytes per second. */
export const LAPTOP_LINK = 25e6;

/** The query's goals against H5Coro per latency: 6x at 20 ms, 5x at 60 ms (and at any other latency run). */
const H5CORO_GOAL: Record<number, number> = { 20: 6, 60: 5 };

/** Goals of the capability, per AOI and latency (20 ms and more), and of the index build. */
export function checkGoals(
  result: HarnessResult,
  latencies: number[],
  limits: {
    indexShare?: number;
    rssBytes?: number;
    floors?: readonly RunFloor[];
    linkBytesPerSecond?: number;
  } = {},
): GoalCheck[] {
  const out: GoalCheck[] = [];
  out.push(...indexGoals(result));
  const store = result.indexBuild.find((b) => b.storeBytes !== undefined);
  if (limits.indexShare !== undefined && store?.storeBytes !== undefined) {
    const share = store.storeBytes / result.granules.bytes;
    out.push({
      aoi: "all",
      latency: store.latency,
      goal: "index size / data size",
      target: `<= ${limits.indexShare}`,
      value: share,
      met: share <= limits.indexShare,
    });
  }
  if (limits.rssBytes !== undefined && result.rss) {
    out.push({
      aoi: result.rss.aoi,
      latency: 0,
      goal: `peak RSS, GiB (${result.rss.rows} rows)`,
      target: `< ${limits.rssBytes / 2 ** 30}`,
      value: result.rss.maxRssBytes / 2 ** 30,
      met: result.rss.maxRssBytes < limits.rssBytes,
    });
  }
  for (const { name: aoi } of result.aois) {
    for (const latency of latencies.filter((l) => l >= 20)) {
      const g = find(result.rows, aoi, latency, "geochunks");
      if (!g) continue;
      const h = find(result.rows, aoi, latency, "h5coro");
      const downloads = ["download-h5wasm", "download-h5py"]
        .map((n) => find(result.rows, aoi, latency, n))
        .filter((r): r is ContenderRow => r !== undefined)
        .sort((a, b) => a.seconds - b.seconds);
      const ratio = (x: number | undefined, y: number) => (x === undefined ? null : x / y);
      const push = (
        goal: string,
        target: string,
        value: number | null,
        ok: (v: number) => boolean,
        note?: string,
      ) => out.push({ aoi, latency, goal, target, value, met: value === null ? null : ok(value), note });
      const h5coroGoal = H5CORO_GOAL[latency] ?? 5;
      const floor = limits.floors?.find((f) => f.aoi === aoi && f.latencyMs === latency);
      const best = h && floor?.decode ? h.seconds / floor.decode.seconds : undefined;
      push(
        "time: h5coro / geochunks",
        `>= ${h5coroGoal}`,
        ratio(h?.seconds, g.seconds),
        (v) => v >= h5coroGoal,
        h
          ? best === undefined
            ? undefined
            : `best possible on this machine ${fmt(best, 1)}x (decoding bytes_minimal and serving it on this machine's cores, one latency)${best < h5coroGoal ? `: ${h5coroGoal}x is out of reach here` : ""}`
          : "h5coro skipped",
      );
      const overLaptop = limits.linkBytesPerSecond === LAPTOP_LINK;
      const download = ratio(downloads[0]?.seconds, g.seconds);
      const bound = floor?.download;
      out.push({
        aoi,
        latency,
        goal: "time: download-then-read / geochunks",
        target: ">= 30 over a 25 MB/s link",
        value: download,
        met: download === null || !overLaptop ? null : download >= 30,
        note: [
          downloads[0] ? `fastest download contender: ${downloads[0].contender}` : "no download contender",
          overLaptop ? undefined : "this run's link is not 25 MB/s (--link 25)",
          bound
            ? `best possible on this AOI and link ${fmt(bound.bytesAndLatency, 1)}x (bytes + latency), ${fmt(bound.withCpu, 1)}x with geochunks' CPU${bound.bytesAndLatency < 30 ? ": 30x is out of reach here" : ""}`
            : undefined,
        ]
          .filter(Boolean)
          .join("; "),
      });
      push(
        "time: geochunks / floor model",
        "<= 1.5",
        floor ? g.seconds / floor.seconds : null,
        (v) => v <= 1.5,
        floor ? `floor ${fmt(floor.seconds)} s` : "no floor",
      );
      // No reader of the answer reads less than bytes_minimal: H5Coro's bytes over it bound the ratio.
      const bytesBound = h ? h.bytes / g.bytesMinimal : undefined;
      push(
        "bytes: h5coro / geochunks",
        ">= 10",
        ratio(h?.bytes, g.bytes),
        (v) => v >= 10,
        bytesBound === undefined
          ? "h5coro skipped"
          : `best possible ${fmt(bytesBound, 2)} (h5coro's bytes / bytes_minimal)${bytesBound < 10 ? ": 10x is out of reach here" : ""}`,
      );
      push("bytes_read / bytes_minimal (geochunks)", "<= 1.10", g.bytes / g.bytesMinimal, (v) => v <= 1.1);
    }
  }
  return out;
}

/** The index build's goals: 2x H5Coro's throughput reading the same arrays, at most 30 requests per granule. */
function indexGoals(result: HarnessResult): GoalCheck[] {
  const out: GoalCheck[] = [];
  for (const g of result.indexBuild.filter((b) => b.tool === "geochunks index")) {
    const h = result.indexBuild.find((b) => b.tool === "h5coro lat/lon/time" && b.latency === g.latency);
    const throughput = h ? g.granulesPerSecond / h.granulesPerSecond : null;
    const at = { aoi: "index build", latency: g.latency };
    out.push(
      {
        ...at,
        goal: "granules / s: geochunks index / h5coro lat/lon/time",
        target: ">= 2",
        value: throughput,
        met: throughput === null ? null : throughput >= 2,
        note: h ? undefined : "h5coro skipped",
      },
      {
        ...at,
        goal: "requests per granule (geochunks index)",
        target: "<= 30",
        value: g.requestsPerGranule,
        met: g.requestsPerGranule <= 30,
      },
      {
        ...at,
        goal: "time: 1 core / 2 cores (geochunks index)",
        target: ">= 1.7",
        value: null,
        met: null,
        note: "not measured by this benchmark",
      },
    );
  }
  return out;
}

const fmt = (v: number, digits = 2) =>
  Math.abs(v) >= 100 ? v.toFixed(0) : v !== 0 && Math.abs(v) < 0.01 ? v.toPrecision(2) : v.toFixed(digits);

/** The Markdown report. */
export function markdownReport(r: BenchReport): string {
  const m = r.machine;
  const lines = [
    `# geochunks ${r.product} benchmark, ${r.date}${r.mode === "quick" ? " (quick)" : ""}`,
    "",
    `Command: \`${r.command}\``,
    "",
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB memory, ${m.platform}; Node ${m.node}; ${m.python ?? "no python3"}. Load average at start ${m.loadAverage.join(" / ")}, at end ${r.loadAtEnd.join(" / ")} (1/5/15 min).${r.runSeconds === undefined ? "" : ` The whole run took ${(r.runSeconds / 60).toFixed(1)} min.`}`,
    "",
    `Source: ${r.source}; latencies ${r.latencies.join(", ")} ms per request; bandwidth ${r.bytesPerSecond ? `${mb(r.bytesPerSecond)} MB/s per response` : "uncapped per response"}; client link ${r.linkBytesPerSecond ? `${mb(r.linkBytesPerSecond)} MB/s shared by every response` : "uncapped (loopback)"}. Granules processed ${r.granuleConcurrency} at a time by every contender. Time = median of ${r.reps} run(s) for geochunks and no-index, ${r.slowReps} for the slow contenders (h5coro, downloads); the Python peers' time excludes interpreter start-up.`,
    "",
    `Archive: ${r.result.granules.total} ${r.archive}, ${mb(r.result.granules.bytes)} MB.`,
    "",
    "Contenders:",
    ...r.contenders.map((c) => `- **${c.name}**: ${c.description}`),
    ...r.result.skipped.map((s) => `- skipped **${s.contender}**: ${s.reason}`),
    "",
  ];
  for (const aoi of r.result.aois) {
    lines.push(
      `## Query: ${aoi.name} AOI`,
      "",
      `${aoi.listed.length} granules listed (bounding polygon meets the AOI); oracle ${aoi.oracle.rows} rows (sha256 ${aoi.oracle.hash.slice(0, 12)}); bytes_minimal ${mb(aoi.bytesMinimal)} MB.`,
      "",
      "| latency ms | contender | time s | CPU s (this process; geochunks-cli: the command's) | requests | bytes read MB | bytes / bytes_minimal | rows | = oracle | time x geochunks | bytes x geochunks |",
      "|---|---|---|---|---|---|---|---|---|---|---|",
    );
    for (const latency of r.latencies) {
      const g = find(r.result.rows, aoi.name, latency, "geochunks");
      for (const row of r.result.rows.filter((x) => x.aoi === aoi.name && x.latency === latency)) {
        lines.push(
          `| ${latency} | ${row.contender} | ${fmt(row.seconds)} | ${row.cpuSeconds === undefined ? "" : fmt(row.cpuSeconds)} | ${row.requests} | ${mb(row.bytes)} | ${fmt(row.bytes / row.bytesMinimal)} | ${row.rows} | ${row.matchesOracle ? "yes" : "**no**"} | ${g ? fmt(row.seconds / g.seconds, 1) : ""} | ${g ? fmt(row.bytes / g.bytes, 1) : ""} |`,
        );
      }
    }
    lines.push("");
    const floors = r.floors.filter((f) => f.aoi === aoi.name);
    if (floors.length > 0) {
      const names = [...new Set(r.result.rows.map((x) => x.contender))];
      lines.push(
        "Floor model (bench/lib/floor.ts): waves of requests x latency + bytes_minimal / link bandwidth + geochunks' CPU / cores; each contender's time / floor. The terms are added, as the goal defines the model; a query also spends CPU while its requests are in flight, so a run can come in under the sum (a ratio below 1).",
        "",
        `| latency ms | waves | latency s | transfer s | CPU / ${r.machine.cpus} cores s | floor s | ${names.map((c) => `${c} / floor`).join(" | ")} |`,
        `|---|---|---|---|---|---|${names.map(() => "---").join("|")}|`,
      );
      for (const f of floors) {
        const ratios = names.map((c) => {
          const row = find(r.result.rows, aoi.name, f.latencyMs, c);
          return row ? fmt(row.seconds / f.seconds, 1) : "";
        });
        lines.push(
          `| ${f.latencyMs} | ${f.rounds} | ${fmt(f.latency)} | ${fmt(f.transfer)} | ${fmt(f.cpu)} | ${fmt(f.seconds)} | ${ratios.join(" | ")} |`,
        );
      }
      lines.push("");
      const bounded = floors.filter((f) => f.download);
      lines.push(
        ...(bounded.length > 0
          ? [
              `Best possible download-then-read / geochunks on this AOI and link: downloading the ${aoi.listed.length} listed granules whole (${mb(aoi.listedBytes)} MB, ${fmt(aoi.listedBytes / Math.max(1, aoi.bytesMinimal), 1)} x bytes_minimal) takes at least their bytes over the link + one latency; geochunks at least its floor, without (physical bound) and with its measured CPU. The 30x goal is reachable only where the bound is >= 30.`,
              "",
              "| latency ms | least download s | geochunks latency + transfer s | bound (bytes + latency) | bound with geochunks' CPU | measured (fastest download) |",
              "|---|---|---|---|---|---|",
              ...bounded.map((f) => {
                const g = find(r.result.rows, aoi.name, f.latencyMs, "geochunks");
                const fastest = ["download-h5wasm", "download-h5py"]
                  .map((n) => find(r.result.rows, aoi.name, f.latencyMs, n))
                  .filter((x): x is ContenderRow => x !== undefined)
                  .sort((a, b) => a.seconds - b.seconds)[0];
                const measured = g && fastest ? `${fmt(fastest.seconds / g.seconds, 1)}x` : "-";
                return `| ${f.latencyMs} | ${fmt(f.download!.downloadSeconds)} | ${fmt(f.latency + f.transfer)} | ${fmt(f.download!.bytesAndLatency, 1)}x | ${fmt(f.download!.withCpu, 1)}x | ${measured} |`;
              }),
              "",
            ]
          : [
              `Download-then-read moves the ${aoi.listed.length} listed granules whole (${mb(aoi.listedBytes)} MB, ${fmt(aoi.listedBytes / Math.max(1, aoi.bytesMinimal), 1)} x bytes_minimal); with no client link (--link) its transfer is free on the loopback, so no bound on its ratio is printed.`,
              "",
            ]),
      );
      const decoded = floors.filter((f) => f.decode);
      if (decoded.length > 0 && r.decodeRate) {
        const rate = r.decodeRate;
        lines.push(
          `Best possible h5coro / geochunks on this machine: any reader of the answer needs at least one latency, bytes_minimal over the link, and on the ${r.machine.cpus} cores the decoding of bytes_minimal and the range server's CPU to send it (the loopback server shares the cores). Decoding runs at ${fmt(rate.bytesPerCpuSecond / 1e6, 0)} MB of stored chunks per CPU second here (the library's decodeChunk, node:zlib, one thread, fastest of 3 passes over the ${rate.chunks} chunks of ${rate.datasets.length} datasets per beam in ${rate.granules} granules: bench/lib/inflate-rate.ts). HTTP parsing, point tests and writing the result are not counted, so the real best is lower. A goal of N x H5Coro is reachable only where the bound is >= N.`,
          "",
          "| latency ms | decode bytes_minimal, CPU s | server CPU s | least time s | h5coro s | bound: h5coro / least time | measured h5coro / geochunks |",
          "|---|---|---|---|---|---|---|",
          ...decoded.map((f) => {
            const h = find(r.result.rows, aoi.name, f.latencyMs, "h5coro");
            const g = find(r.result.rows, aoi.name, f.latencyMs, "geochunks");
            const d = f.decode!;
            return `| ${f.latencyMs} | ${fmt(d.decodeSeconds)} | ${fmt(d.serverCpuSeconds)} | ${fmt(d.seconds)} | ${h ? fmt(h.seconds) : "-"} | ${h ? `${fmt(h.seconds / d.seconds, 1)}x` : "-"} | ${h && g ? `${fmt(h.seconds / g.seconds, 1)}x` : "-"} |`;
          }),
          "",
        );
      }
    }
  }
  if (r.goals.length > 0) {
    lines.push(
      "## Goals",
      "",
      "| AOI | latency ms | goal | target | value | met |",
      "|---|---|---|---|---|---|",
    );
    for (const g of r.goals) {
      const met = g.met === null ? "n/a" : g.met ? "yes" : "**no**";
      lines.push(
        `| ${g.aoi} | ${g.latency} | ${g.goal}${g.note ? ` (${g.note})` : ""} | ${g.target} | ${g.value === null ? "-" : fmt(g.value)} | ${met} |`,
      );
    }
    lines.push("");
  }
  if (r.result.indexBuild.length > 0) {
    lines.push(
      "## Index build",
      "",
      `All ${r.result.granules.total} granules over HTTP, each tool's time the median of ${r.reps} run(s), interleaved, after one round of each not kept. geochunks builds the store (lat/lon/time chunks, footprints, H3 cells); H5Coro reads the same latitude, longitude and delta_time arrays of every beam and nothing else.`,
      "",
      "| latency ms | tool | seconds | granules / s | requests / granule | MB read / granule | read / file size | store MB |",
      "|---|---|---|---|---|---|---|---|",
    );
    for (const b of r.result.indexBuild) {
      lines.push(
        `| ${b.latency} | ${b.tool} | ${fmt(b.seconds)} | ${fmt(b.granulesPerSecond)} | ${b.requestsPerGranule} | ${mb(b.bytesPerGranule)} | ${fmt(b.bytesFraction, 3)} | ${b.storeBytes === undefined ? "" : mb(b.storeBytes)} |`,
      );
    }
    lines.push("");
  }
  if (r.sliderule) lines.push(...besideSlideRule(r, r.sliderule));
  const rss = r.result.rss;
  if (rss) {
    lines.push(
      "## Memory",
      "",
      `geochunks query over the ${rss.aoi} AOI (every point of every granule) to GeoParquet, in a child process at latency 0: ${rss.rows} rows in ${fmt(rss.seconds)} s, peak RSS ${mb(rss.maxRssBytes)} MB (granule concurrency ${rss.granuleConcurrency}; GeoParquet ${mb(rss.parquetBytes)} MB).`,
      "",
    );
  }
  return lines.join("\n");
}

/** The archive run's Greenland query beside a published time, with what differs. */
function besideSlideRule(r: BenchReport, published: PublishedRun): string[] {
  const aoi = r.result.aois.find((a) => a.name === "greenland");
  if (!aoi) return [];
  const lines = [
    "## Beside SlideRule",
    "",
    `Published: ${published.seconds} s, ${published.what}; ${published.source}.`,
    "",
    "| latency ms | contender | time s | x faster than the published 28.8 s | granules | rows |",
    "|---|---|---|---|---|---|",
  ];
  for (const latency of r.latencies) {
    for (const name of ["geochunks", "h5coro"]) {
      const row = find(r.result.rows, "greenland", latency, name);
      if (!row) continue;
      lines.push(
        `| ${latency} | ${name} | ${fmt(row.seconds)} | ${fmt(published.seconds / row.seconds, 1)} | ${aoi.listed.length} | ${row.rows} |`,
      );
    }
  }
  const build = r.result.indexBuild.find((b) => b.tool === "geochunks index");
  lines.push(
    "",
    "Not the same measurement: SlideRule runs server-side, in the cloud region of the data, fanning the granules out over a cluster (at most three per node, a reader thread per column), and its time includes the CMR search, queueing and streaming the result to the client; geochunks runs client-side on this machine, reading every chunk over the (loopback) link with the latency and link cap above, and its store was built beforehand" +
      (build
        ? ` (${fmt(build.seconds)} s for all ${build.granules} granules at ${build.latency} ms here, ${fmt(build.seconds / build.granules, 2)} s per granule, once per granule for every later query)`
        : "") +
      `. The granules are synthetic (${r.archive}), about the count the real archive holds over the box (see bench/README.md); SlideRule's run returns 19 columns per segment read from several ATL06 groups, geochunks its default columns (latitude, longitude, time, h_li, h_li_sigma, atl06_quality_summary, segment_id and the granule's and beam's own values).`,
    "",
  );
  return lines;
}

const COLORS: Record<string, string> = {
  geochunks: "#1b9e77",
  "geochunks-memory": "#66a61e",
  "no-index": "#7570b3",
  h5coro: "#d95f02",
  "download-h5wasm": "#e7298a",
  "download-h5py": "#a6761d",
};

const esc = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");

/** Grouped bars (log scale) of time and bytes read per contender, one group per AOI and latency. */
export function svgChart(r: BenchReport): string {
  const contenders = [...new Set(r.result.rows.map((x) => x.contender))];
  const groups = r.result.aois.flatMap((a) => r.latencies.map((latency) => ({ aoi: a.name, latency })));
  const bar = 22;
  const left = 70;
  const width = Math.max(760, left + groups.length * (contenders.length * bar + 30) + 20);
  const groupWidth = (width - left - 20) / groups.length;
  const gap = groupWidth - contenders.length * bar;
  const panelHeight = 220;
  const top = 60;
  const panels = [
    {
      title: "wall time, s (log scale)",
      value: (x: ContenderRow) => x.seconds,
      label: (v: number) => fmt(v, v < 10 ? 2 : 1),
    },
    {
      title: "bytes read, MB (log scale)",
      value: (x: ContenderRow) => x.bytes / 1e6,
      label: (v: number) => fmt(v, 1),
    },
  ];
  const parts: string[] = [];
  const height = top + panels.length * (panelHeight + 70) + 10;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="20" font-size="13" font-weight="bold">geochunks ${esc(r.product)} benchmark ${esc(r.date)}: ${r.result.granules.total} synthetic ${esc(r.product)} granules (${mb(r.result.granules.bytes / r.result.granules.total)} MB each) over loopback HTTP${r.linkBytesPerSecond ? `, ${mb(r.linkBytesPerSecond)} MB/s link` : ""}</text>`,
  );
  contenders.forEach((c, i) => {
    const x = left + i * 130;
    parts.push(
      `<rect x="${x}" y="32" width="12" height="12" fill="${COLORS[c] ?? "#666"}"/>`,
      `<text x="${x + 16}" y="42">${esc(c)}</text>`,
    );
  });
  panels.forEach((panel, p) => {
    const y0 = top + p * (panelHeight + 70) + 20;
    const values = r.result.rows.map(panel.value).filter((v) => v > 0);
    const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
    const scale = (v: number) =>
      y0 + panelHeight - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * panelHeight;
    parts.push(`<text x="${left}" y="${y0 - 6}" font-weight="bold">${esc(panel.title)}</text>`);
    for (let d = lo; d <= hi * 1.0001; d *= 10) {
      const y = scale(d).toFixed(1);
      parts.push(
        `<line x1="${left}" x2="${width - 10}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
        `<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${d >= 1 ? d.toFixed(0) : d.toPrecision(1)}</text>`,
      );
    }
    groups.forEach((g, gi) => {
      const gx = left + gi * groupWidth + gap / 2;
      contenders.forEach((c, ci) => {
        const row = find(r.result.rows, g.aoi, g.latency, c);
        if (!row) return;
        const v = panel.value(row);
        const y = scale(Math.max(v, lo));
        const x = gx + ci * bar;
        parts.push(
          `<rect x="${x}" y="${y.toFixed(1)}" width="${bar - 2}" height="${(y0 + panelHeight - y).toFixed(1)}" fill="${COLORS[c] ?? "#666"}"><title>${esc(`${c}, ${g.aoi}, ${g.latency} ms: ${panel.label(v)}`)}</title></rect>`,
          `<text x="${x + bar / 2 - 1}" y="${(y - 3).toFixed(1)}" font-size="8" text-anchor="middle">${panel.label(v)}</text>`,
        );
      });
      const cx = gx + (contenders.length * bar) / 2;
      parts.push(
        `<text x="${cx}" y="${y0 + panelHeight + 14}" text-anchor="middle">${g.latency} ms</text>`,
        `<text x="${cx}" y="${y0 + panelHeight + 27}" text-anchor="middle" fill="#555">${esc(g.aoi)}</text>`,
      );
    });
    parts.push(
      `<line x1="${left}" x2="${width - 10}" y1="${y0 + panelHeight}" y2="${y0 + panelHeight}" stroke="#333"/>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
