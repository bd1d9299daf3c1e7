import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Product knowledge lives in src/products: nothing else in src/ may name a product, a beam or a
 * dataset path in code or strings. Comments may (they cite products as examples and evidence).
 */
const FORBIDDEN: readonly [string, RegExp][] = [
  ["ICESat-2 product name", /\bATL\d\d/i],
  ["GEDI product or group", /GEDI|BEAM\d{4}/i],
  ["ICESat-2 beam", /\bgt[123][lr]\b/i],
  ["row group", /land_ice_segments|land_segments|\bheights\b|\bgeolocation\b/],
  ["metadata group", /orbit_info|ancillary_data|DatasetIdentification/],
  [
    "product variable",
    /\bh_li\b|\bdelta_time\b|lat_ph|lon_ph|lowestmode|signal_conf_ph|ph_index_beg|segment_ph_cnt|shot_number|quality_summary/,
  ],
  ["product attribute", /\bsc_orient\b|\brgt\b|short_name|atlas_sdp/i],
];

const ROOT = join(import.meta.dirname, "..", "..");
const SRC = join(ROOT, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === join(SRC, "products") ? [] : sourceFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

/**
 * The text of a TypeScript file with its comments blanked (newlines kept, so line numbers hold).
 * Strings and template literals are kept: what the code says is checked, not what it explains.
 */
function stripComments(text: string): string {
  let out = "";
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      quote = c;
      out += c;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop - 1;
    } else out += c;
  }
  return out;
}

describe("product boundaries", () => {
  it("blanks comments and keeps strings", () => {
    expect(stripComments('a = "x // y"; // gt1l\n/* ATL06\n */ b')).toBe('a = "x // y"; \n        \n    b');
  });

  it("finds what it looks for where it belongs (src/products)", () => {
    const text = stripComments(readFileSync(join(SRC, "products", "atl06.ts"), "utf8"));
    const found = FORBIDDEN.filter(([, pattern]) => pattern.test(text)).map(([what]) => what);
    expect(found).toEqual(expect.arrayContaining(["ICESat-2 product name", "row group", "product variable"]));
  });

  it("no file in src/ outside src/products names a product, beam or dataset path", () => {
    const hits: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const lines = stripComments(readFileSync(file, "utf8")).split("\n");
      lines.forEach((line, i) => {
        for (const [what, pattern] of FORBIDDEN) {
          const m = pattern.exec(line);
          if (m) hits.push(`${relative(ROOT, file)}:${i + 1}: ${what} "${m[0]}": ${line.trim()}`);
        }
      });
    }
    expect(hits, `product knowledge outside src/products:\n${hits.join("\n")}`).toEqual([]);
  });
});
