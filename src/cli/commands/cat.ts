/** `geochunks cat <file|url> <dataset> [--slice START:STOP] [--json]`: a dataset's values. */

import { namingInput } from "../../errors.js";
import type { AttrValue, DatasetValues } from "../../hdf5/index.js";
import { exampleDatasets, registeredProfiles } from "../../products/index.js";
import { UsageError } from "../errors.js";
import { addOptions, type Command, examples, type Io } from "../program.js";
import { warnOncePerHost } from "../warnings.js";

interface CatFlags {
  slice?: string;
  json?: boolean;
  stats?: boolean;
}

/** Adds `cat` to the program. */
export function catCommand(program: Command, io: Io): void {
  const example = exampleDatasets(registeredProfiles()[0]!);
  const command = program
    .command("cat")
    .description(
      "print a dataset's values, one row per line (reads only the chunks the slice needs); 64-bit " +
        "integers exact, floats as the shortest text that reads back the same, -0 kept",
    )
    .argument("<file|url>", "an HDF5 file: local path, http(s):// or s3:// URL")
    .argument("<dataset>", `the dataset's path in the file, e.g. ${example.variable}`);
  addOptions(command, [
    {
      flags: "--slice <start:stop>",
      meaning:
        "rows [START, STOP) along the first dimension; either end may be left out, and a negative one counts " +
        "from the end (-3: is the last three rows)",
      default: "all rows",
      example: "--slice 0:100",
    },
    {
      flags: "--json",
      meaning: "print one JSON array instead of one value per line",
      default: "text",
      example: "--json",
    },
    {
      flags: "--stats",
      meaning: "print the requests sent and bytes received as one JSON line on stderr, after the values",
      default: "no statistics",
      example: "--stats",
    },
  ]);
  examples(command, [
    `geochunks cat granule.h5 ${example.variable} --slice 0:3`,
    `geochunks cat granule.h5 ${example.time} --json`,
  ]);
  command.action((input: string, path: string, opts: CatFlags) => cat(input, path, opts, io));
}

/**
 * Prints the values of one dataset, one row (element along the first dimension) per line, or one
 * JSON array with `--json`. `--slice START:STOP` selects rows `[START, STOP)` (either end may be
 * left out) and reads only the chunks that hold them. 64-bit integers are printed exactly; compounds
 * as JSON objects; opaque elements as hex. With `--stats`, `{"requests":N,"bytes_read":M}` follows
 * on stderr: what went over the wire for a remote file.
 * @throws UsageError for bad arguments or a path that is not a dataset.
 */
async function cat(input: string, path: string, values: CatFlags, io: Io): Promise<void> {
  const out = io.out;
  const slice = parseSlice(values.slice);
  // The HDF5 reader loads with this command only, not with every start of the program.
  const [{ Hdf5File }, { openSource, withReadStats }] = await Promise.all([
    import("../../hdf5/index.js"),
    import("../../source/index.js"),
  ]);
  const opened = await openSource(input, { http: { onWarning: warnOncePerHost(io.err) } }).catch((err) => {
    throw namingInput(err, input);
  });
  const { source, stats } = withReadStats(opened);
  try {
    const file = await Hdf5File.open(source);
    const info = await file.dataset(path);
    if (!info) throw new UsageError(`${input}: no dataset at ${path}`);
    const rows = info.shape[0] ?? 1;
    const fromEnd = (i: number) => (i < 0 ? Math.max(0, rows + i) : i);
    const start = Math.min(fromEnd(slice.start ?? 0), rows);
    const stop = Math.max(start, Math.min(fromEnd(slice.stop ?? rows), rows));
    const data =
      slice.start === undefined && slice.stop === undefined
        ? await file.read(path)
        : await file.readSlice(path, start, stop);
    const shape =
      info.shape.length === 0 ? [] : [Math.max(0, stop - Math.min(start, stop)), ...info.shape.slice(1)];
    const printed = rowsOf(data, info.dtype, shape);
    if (values.json) out(`[${printed.map((row) => toJson(row)).join(",")}]`);
    else for (const row of printed) out(typeof row === "string" ? row : toJson(row, { text: true }));
    if (values.stats) io.err(JSON.stringify({ requests: stats.requests, bytes_read: stats.bytes }));
  } catch (err) {
    throw namingInput(err, input);
  } finally {
    await opened.close();
  }
}

/**
 * A `--slice` value: `START:STOP`, `START:` or `:STOP`, integers; a negative one counts from the
 * end of the dataset, as in Python (resolved once the row count is known).
 */
export function parseSlice(text: string | undefined): { start?: number; stop?: number } {
  if (text === undefined) return {};
  const m = /^(-?\d*):(-?\d*)$/.exec(text.trim());
  if (!m || (m[1] === "" && m[2] === "") || m[1] === "-" || m[2] === "-")
    throw new UsageError(`--slice ${text}: expected START:STOP, e.g. 0:100`);
  const start = m[1] === "" ? undefined : Number(m[1]);
  const stop = m[2] === "" ? undefined : Number(m[2]);
  if (start !== undefined && stop !== undefined && Math.sign(start) === Math.sign(stop) && stop < start) {
    throw new UsageError(`--slice ${text}: STOP ${stop} is before START ${start}`);
  }
  return { ...(start !== undefined && { start }), ...(stop !== undefined && { stop }) };
}

/** A printable value: plain values plus bigints (printed exactly). */
type Printable = AttrValue;

/** Splits flat values into rows along the first dimension, nesting the inner dimensions. */
function rowsOf(data: DatasetValues, dtype: string, shape: number[]): Printable[] {
  const opaque = /^\|V(\d+)$/.exec(dtype);
  let flat: Printable[];
  if (opaque && data instanceof Uint8Array) {
    const size = Number(opaque[1]);
    flat = Array.from({ length: data.length / size }, (_, i) =>
      Buffer.from(data.subarray(i * size, (i + 1) * size)).toString("hex"),
    );
  } else if (data instanceof Float32Array)
    flat = Array.from(data, /^[<>]f2$/.test(dtype) ? shortestFloat16 : shortestFloat32);
  else flat = Array.isArray(data) ? data : Array.from(data as ArrayLike<number | bigint>);
  if (shape.length <= 1) return flat;
  const inner = shape.slice(1);
  const step = inner.reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0]! }, (_, i) => nest(flat.slice(i * step, (i + 1) * step), inner));
}

function nest(values: Printable[], shape: number[]): Printable {
  if (shape.length <= 1) return values;
  const step = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0]! }, (_, i) =>
    nest(values.slice(i * step, (i + 1) * step), shape.slice(1)),
  );
}

/** The shortest decimal that reads back as the same float32 (what numpy prints). */
function shortestFloat32(x: number): number {
  return shortestAs(x, Math.fround, 9);
}

/** The shortest decimal that reads back as the same float16 (what numpy prints). */
function shortestFloat16(x: number): number {
  return shortestAs(x, roundToFloat16, 5);
}

function shortestAs(x: number, round: (y: number) => number, digits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  for (let p = 1; p < digits; p++) {
    const y = Number(x.toPrecision(p));
    if (round(y) === x) return y;
  }
  return x;
}

/** Largest float16 (65504) plus half an ulp: from here on a number rounds to infinity. */
const FLOAT16_OVERFLOW = 65520;

/** `x` rounded to the nearest float16, ties to even (Math.f16round, which Node 20 lacks). */
export function roundToFloat16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= FLOAT16_OVERFLOW) return Math.sign(x) * Number.POSITIVE_INFINITY;
  // Subnormals share the smallest exponent; above, the ulp is 2^-10 of the power of two below `a`.
  let exponent = Math.max(-14, Math.floor(Math.log2(a)));
  if (2 ** exponent > a) exponent -= 1;
  const ulp = 2 ** (Math.max(-14, exponent) - 10);
  return Math.sign(x) * roundHalfEven(a / ulp) * ulp;
}

function roundHalfEven(q: number): number {
  const floor = Math.floor(q);
  const rest = q - floor;
  if (rest !== 0.5) return rest < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * JSON text with bigints as exact integer literals, negative zero as `-0` (as h5dump prints it) and
 * non-finite numbers as strings; with `text`, a bare number or bigint is printed without quotes.
 */
export function toJson(value: Printable, opts: { text?: boolean } = {}): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Object.is(value, -0)) return "-0";
    if (Number.isFinite(value)) return JSON.stringify(value);
    return opts.text ? String(value) : JSON.stringify(String(value));
  }
  if (Array.isArray(value)) return `[${value.map((v) => toJson(v)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}
