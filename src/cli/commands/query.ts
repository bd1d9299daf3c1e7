/** `geochunks query --store DIR --polygon AOI --out OUT.parquet`: a polygon subset as GeoParquet. */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { openStore } from "../../api.js";
import { writeGeoParquet } from "../../export/geoparquet.js";
import { list, parseCommand, required } from "../args.js";
import { SOURCE_FLAGS, SOURCE_USAGE, sourceOptionsFrom } from "../credentials.js";
import { UsageError } from "../errors.js";

export const QUERY_USAGE =
  "geochunks query --store DIR --polygon AOI --out OUT.parquet [--start ISO8601] [--end ISO8601] " +
  "[--beams gt1l,...|strong|weak] [--vars h_li,...] [--quality] [--select auto|bbox|h3] [--stats] [--dry-run] " +
  SOURCE_USAGE;

/** The AOI text: the file's contents when the argument names a file, else the argument itself. */
async function aoiText(arg: string): Promise<{ text: string; source: string }> {
  if (existsSync(arg)) return { text: await readFile(arg, "utf8"), source: arg };
  return { text: arg, source: "--polygon" };
}

/** Runs `query`. */
export async function queryCommand(argv: string[], out: (text: string) => void): Promise<void> {
  const { values } = parseCommand(argv, {
    store: { type: "string" },
    polygon: { type: "string" },
    out: { type: "string" },
    start: { type: "string" },
    end: { type: "string" },
    beams: { type: "string" },
    vars: { type: "string" },
    select: { type: "string" },
    quality: { type: "boolean" },
    stats: { type: "boolean" },
    "dry-run": { type: "boolean" },
    ...SOURCE_FLAGS,
  });
  const storeDir = required(values.store, "--store DIR");
  const { text, source } = await aoiText(required(values.polygon, "--polygon AOI"));
  const dryRun = values["dry-run"] ?? false;
  const outPath = dryRun ? undefined : required(values.out, "--out OUT.parquet");
  const selection = values.select ?? "auto";
  if (selection !== "bbox" && selection !== "h3" && selection !== "auto") {
    throw new UsageError(`--select ${selection} is not auto, bbox or h3`);
  }
  const store = await openStore(storeDir);
  const { toAoi } = await import("../../api.js");
  const result = store.query({
    aoi: toAoi(text, source),
    start: values.start,
    end: values.end,
    beams: list(values.beams),
    vars: list(values.vars),
    selection,
    quality: values.quality ?? false,
    source: sourceOptionsFrom(values),
  });
  if (dryRun) {
    const plan = await result.plan();
    for (const g of plan.granules) {
      const bytes = g.ranges.reduce((s, r) => s + r.length, 0);
      out(`${g.granule.granule_id}: ${g.chunks.length} chunks, ${g.ranges.length} ranges, ${bytes} bytes`);
    }
    out(
      JSON.stringify({
        granules: plan.granules.length,
        chunks_candidate: plan.chunksCandidate,
        requests: plan.requests,
        bytes: plan.bytes,
      }),
    );
    return;
  }
  const schema = await result.schema();
  const rows = await writeGeoParquet(result, outPath!, { bbox: result.aoi.bbox, emptySchema: schema });
  if (values.stats) out(JSON.stringify(result.stats));
  else out(`wrote ${rows} rows to ${outPath}`);
}
