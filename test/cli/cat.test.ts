/**
 * `geochunks cat` on every numeric type the HDF5 library reads (int8..int64, uint8..uint64, float16,
 * float32, float64, both byte orders), edge values included: -0, NaN, ±Infinity, the largest finite
 * and smallest normal and subnormal values. The oracle is the HDF5 C library through h5wasm (its values,
 * or for float16, which h5wasm cannot decode, the library's bytes in host order) and numpy's repr of
 * each value, recorded in the fixture's truth file when the file was written.
 */
import { readFileSync } from "node:fs";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roundToFloat16 } from "../../src/cli/commands/cat.js";
import { main } from "../../src/cli/main.js";
import { Hdf5File } from "../../src/hdf5/index.js";
import { openFileSource } from "../../src/source/index.js";

const FIXTURE = new URL("../../fixtures/numeric/numeric_types.h5", import.meta.url).pathname;
const TRUTH = JSON.parse(
  readFileSync(new URL("../../fixtures/numeric/numeric_types.truth.json", import.meta.url), "utf8"),
) as Record<string, { dtype: string; shape: number[]; repr: string[] }>;

const TYPES = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"];
const ONE_D = [...TYPES.map((t) => `/le/${t}`), ...TYPES.map((t) => `/be/${t}`), "/chunked/f2"];

type H5Module = Awaited<typeof h5wasm.ready>;
let Module: H5Module;
let oracle: InstanceType<typeof h5wasm.File>;

beforeAll(async () => {
  Module = await h5wasm.ready;
  oracle = new h5wasm.File(FIXTURE, "r");
});
afterAll(() => oracle.close());

async function cat(...argv: string[]): Promise<{ code: number; lines: string[]; errors: string[] }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const code = await main(
    ["cat", FIXTURE, ...argv],
    (t) => lines.push(t),
    (t) => errors.push(t),
  );
  return { code, lines, errors };
}

/** IEEE half bits to a number, written here independently of the reader's decoder. */
function halfValue(bits: number): number {
  const e = (bits >> 10) & 31;
  const m = bits & 1023;
  const magnitude =
    e === 0
      ? m / 2 ** 24
      : e === 31
        ? m
          ? Number.NaN
          : Number.POSITIVE_INFINITY
        : (1 + m / 1024) * 2 ** (e - 15);
  return bits & 0x8000 ? -magnitude : magnitude;
}

/** The values of a dataset as the HDF5 library reads them, flattened. */
function oracleValues(path: string): (number | bigint)[] {
  const ds = oracle.get(path) as InstanceType<typeof h5wasm.Dataset>;
  const { type, size, total_size } = ds.metadata;
  if (type !== 1 || size !== 2) return Array.from(ds.value as ArrayLike<number | bigint>);
  // h5wasm has no Float16 accessor: take the library's bytes (converted to host order) and decode them.
  const nbytes = size * total_size;
  const ptr = Module._malloc(nbytes);
  try {
    Module.get_dataset_data(oracle.file_id, path, null, null, null, BigInt(ptr));
    const bits = new Uint16Array(Module.HEAPU8.slice(ptr, ptr + nbytes).buffer);
    return Array.from(bits, halfValue);
  } finally {
    Module._free(ptr);
  }
}

/** Half the distance to the next value of a float type of `mantissaBits` bits at `v`. */
function halfUlp(v: number, mantissaBits: number, minExponent: number): number {
  const e = Math.max(minExponent, Math.floor(Math.log2(Math.abs(v))));
  return 2 ** (e - mantissaBits) / 2;
}

/** Whether the decimal `x` reads back as the float `v` of a dtype. */
function readsBackAs(x: number, v: number, dtype: string): boolean {
  if (dtype.endsWith("f8")) return x === v;
  if (dtype.endsWith("f4")) return Math.fround(x) === v;
  return Math.abs(x - v) < halfUlp(v, 10, -14);
}

function nonFiniteText(v: number): string | undefined {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "Infinity";
  if (v === Number.NEGATIVE_INFINITY) return "-Infinity";
  if (Object.is(v, -0)) return "-0";
  return undefined;
}

describe("geochunks cat: numeric types", () => {
  it.each(ONE_D)("%s: text and --json hold the library's values", async (path) => {
    const { dtype, repr } = TRUTH[path]!;
    const expected = oracleValues(path);
    expect(expected).toHaveLength(repr.length);
    const text = await cat(path);
    const json = await cat(path, "--json");
    expect([text.code, json.code, text.errors, json.errors]).toEqual([0, 0, [], []]);
    expect(text.lines).toHaveLength(expected.length);
    if (!dtype.includes("f")) {
      expect(text.lines).toEqual(expected.map(String));
      expect(repr).toEqual(expected.map(String));
      expect(json.lines).toEqual([`[${expected.join(",")}]`]);
      return;
    }
    const parsed = JSON.parse(json.lines[0]!) as (number | string)[];
    expected.forEach((value, i) => {
      const v = Number(value);
      const line = text.lines[i]!;
      const special = nonFiniteText(v);
      if (special) {
        expect(line, `${path}[${i}]`).toBe(special);
        if (special === "-0") expect(Object.is(parsed[i], -0), `${path}[${i}] JSON -0`).toBe(true);
        else expect(parsed[i]).toBe(special);
        return;
      }
      // The shortest text that reads back as the same value of the dtype: numpy's choice.
      expect(readsBackAs(Number(line), v, dtype), `${path}[${i}] ${line} vs ${v}`).toBe(true);
      expect(Number(line), `${path}[${i}] numpy ${repr[i]}`).toBe(Number(repr[i]));
      expect(parsed[i]).toBe(Number(line));
    });
  });

  it("prints float16 edge values and negative zero as numpy does", async () => {
    const { lines } = await cat("/le/f2");
    expect(lines).toEqual(
      "0 -0 1 -1 Infinity -Infinity NaN 65500 -65500 0.00006104 -0.00006104 6e-8 -6e-8 0.1 0.3333 -2.5".split(
        " ",
      ),
    );
    expect(oracleValues("/le/f2").slice(7, 13)).toEqual([
      65504,
      -65504,
      2 ** -14,
      -(2 ** -14),
      2 ** -24,
      -(2 ** -24),
    ]);
  });

  it("slices chunked, shuffled and deflated float16 and nests 2-D and scalar values", async () => {
    const all = oracleValues("/chunked/f2");
    const { lines } = await cat("/chunked/f2", "--slice", "100:230");
    expect(lines.map(Number)).toEqual(TRUTH["/chunked/f2"]!.repr.slice(100, 230).map(Number));
    const wrong = lines.filter((line, i) => !readsBackAs(Number(line), Number(all[100 + i]), "<f2"));
    expect(wrong).toEqual([]);

    const grid = await cat("/shapes/f2_2d", "--json");
    expect(grid.lines).toEqual([
      '[[0,-0,1.5,-1.5],[65500,-65500,"Infinity","-Infinity"],["NaN",0.00006104,6e-8,0.333]]',
    ]);
    const flat = oracleValues("/shapes/f2_2d");
    expect(flat.slice(4, 6)).toEqual([65504, -65504]);
    expect((await cat("/shapes/f2_2d")).lines).toHaveLength(3);
    expect((await cat("/shapes/f2_scalar")).lines).toEqual(["-0"]);
  });

  it("decodes float16 attributes", async () => {
    const source = await openFileSource(FIXTURE);
    try {
      const info = await (await Hdf5File.open(source)).dataset("/le/f2");
      const half = info!.attrs.half as number[];
      expect(half).toHaveLength(3);
      expect(Object.is(half[0], -0)).toBe(true);
      expect(half.slice(1)).toEqual([65504, 2 ** -24]);
    } finally {
      await source.close();
    }
  });
});

describe("roundToFloat16", () => {
  const finite = Array.from({ length: 0x7c00 }, (_, bits) => halfValue(bits));

  it("keeps every float16 value and rounds midpoints to the even neighbour", () => {
    const wrong: string[] = [];
    const check = (x: number, want: number, what: string) => {
      if (!Object.is(roundToFloat16(x), want))
        wrong.push(`${what}: ${x} -> ${roundToFloat16(x)}, not ${want}`);
    };
    for (const [bits, v] of finite.entries()) {
      check(v, v, "value");
      check(-v, -v, "negated value");
      const next = finite[bits + 1];
      if (next === undefined) continue;
      const mid = (v + next) / 2;
      check(mid, bits % 2 === 0 ? v : next, "midpoint");
      check(mid - (next - v) / 8, v, "below midpoint");
      check(mid + (next - v) / 8, next, "above midpoint");
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it("overflows to infinity from 65520 and keeps signed zeros and NaN", () => {
    expect(roundToFloat16(65519.99)).toBe(65504);
    expect(roundToFloat16(65520)).toBe(Number.POSITIVE_INFINITY);
    expect(roundToFloat16(-1e9)).toBe(Number.NEGATIVE_INFINITY);
    expect(Object.is(roundToFloat16(-0), -0)).toBe(true);
    expect(roundToFloat16(Number.NaN)).toBeNaN();
    expect(roundToFloat16(2 ** -26)).toBe(0);
  });
});
