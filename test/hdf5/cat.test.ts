import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseSlice } from "../../src/cli/commands/cat.js";
import { UsageError } from "../../src/cli/errors.js";
import { runCommand } from "../../src/cli/main.js";
import { Hdf5File } from "../../src/hdf5/index.js";
import { fromBytes, withReadStats } from "../../src/source/index.js";
import { CORPUS_DIR } from "./corpus.js";

const LATEST = `${CORPUS_DIR}sb3_latest.h5`;
const EARLIEST = `${CORPUS_DIR}sb0_earliest.h5`;

async function cat(...argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  await runCommand(["cat", ...argv], { out: (t) => lines.push(t), err: () => undefined });
  return lines;
}

describe("geochunks cat", () => {
  it("prints one value per line, 64-bit integers exactly", async () => {
    expect(await cat(LATEST, "/types/num_be_i8")).toEqual([
      "-9223372036854775808",
      "9223372036854775807",
      "0",
      "1",
      "2",
      "9223372036854775806",
      "7",
    ]);
    expect(await cat(LATEST, "/types/num_le_f4", "--slice", "0:2")).toEqual(["0.14243864", "Infinity"]);
    expect(await cat(EARLIEST, "/types/num_le_u8", "--json")).toEqual([
      "[0,18446744073709551615,0,1,2,18446744073709551614,7]",
    ]);
  });

  it("prints compounds as objects, strings, enums as numbers, opaque as hex, arrays nested", async () => {
    const records = await cat(LATEST, "/types/compound", "--json");
    const parsed = JSON.parse(records[0]!.replace(/(?<=[:[,])(-?\d{16,})(?=[,\]}])/g, '"$1"')) as Record<
      string,
      unknown
    >[];
    expect(parsed.map((r) => [r.id, r.name, r.flag, r.big])).toEqual([
      [1, "gt1l", 0, "4611686018427387905"],
      [2, "gt1r", 1, "-1152921504606846979"],
      [3, "gt2l", 2, 5],
      [4, "", 3, "9007199254740993"],
    ]);
    expect(await cat(LATEST, "/types/str_vlen_utf8", "--json")).toEqual(['["ice","névé","","firn layer"]']);
    expect(await cat(LATEST, "/types/enum_i1")).toEqual(["0", "3", "2", "1", "3"]);
    expect(await cat(LATEST, "/types/opaque_v5")).toEqual(["6162636465", "0001020304"]);
    expect(await cat(LATEST, "/types/array_2x3_i2", "--slice", "1:2")).toEqual(["[[6,7,8],[9,10,11]]"]);
    expect(await cat(LATEST, "/layouts/chunked_2d_edges", "--slice", "36:")).toHaveLength(1);
    // Negative ends count from the end, as in Python: the same rows as the positive slice.
    const all = await cat(LATEST, "/layouts/chunked_2d_edges");
    expect(await cat(LATEST, "/layouts/chunked_2d_edges", "--slice", "-1:")).toEqual(all.slice(-1));
    expect(await cat(LATEST, "/layouts/chunked_2d_edges", "--slice", "-5:-2")).toEqual(all.slice(-5, -2));
    expect(await cat(LATEST, "/layouts/chunked_2d_edges", "--slice=:-30")).toEqual(all.slice(0, -30));
    expect(await cat(LATEST, "/layouts/chunked_2d_edges", "--slice", "-1000:2")).toEqual(all.slice(-1000, 2));
    expect(await cat(LATEST, "/types/scalar_f8")).toEqual(["6.25"]);
  });

  it("rejects bad arguments and missing datasets as usage errors", async () => {
    await expect(cat(LATEST)).rejects.toThrow(/missing required argument 'dataset'/);
    await expect(cat(LATEST, "/nope")).rejects.toBeInstanceOf(UsageError);
    await expect(cat(LATEST, "/types/enum_i1", "--slice", "5:2")).rejects.toThrow(/before START/);
    expect(() => parseSlice("a:b")).toThrow(UsageError);
    expect(parseSlice(":7")).toEqual({ stop: 7 });
    await expect(cat(LATEST, "/filters/lzf")).rejects.toThrow(/filter 32000 in \/filters\/lzf/);
  });
});

describe("Hdf5File.readSlice", () => {
  it("reads only the chunks that overlap the rows asked for", async () => {
    const bytes = readFileSync(LATEST);
    const { source, stats } = withReadStats(fromBytes(bytes));
    const file = await Hdf5File.open(source);
    const refs = await file.chunkRefs("/layouts/many_chunks");
    expect(refs.length).toBe(300);
    const before = stats.bytes;
    const rows = await file.readSlice("/layouts/many_chunks", 1005, 1025);
    expect(Array.from(rows as Int16Array)).toEqual(Array.from({ length: 20 }, (_, i) => 1005 + i));
    expect(stats.bytes - before).toBeLessThanOrEqual(3 * 10 * 2); // three 10-element int16 chunks
    expect(await file.readSlice("/layouts/many_chunks", 2995, 9999)).toHaveLength(5);
    expect(await file.readSlice("/layouts/contiguous_f8", 10, 12)).toEqual(
      (await file.read("/layouts/contiguous_f8")).slice(10, 12),
    );
  });
});
