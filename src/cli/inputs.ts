/** Expanding index inputs: paths, directories, simple globs, URLs and @list files. */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { UsageError } from "./errors.js";

const HDF5_NAME = /\.(h5|hdf5|he5)$/i;

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${escaped}$`);
}

async function expandOne(input: string): Promise<string[]> {
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(input)) return [input];
  if (input.startsWith("@")) {
    const lines = (await readFile(input.slice(1), "utf8")).split(/\r?\n/);
    const items = lines.map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    return (await Promise.all(items.map(expandOne))).flat();
  }
  if (/[*?]/.test(basename(input))) {
    const dir = dirname(input);
    const re = globToRegExp(basename(input));
    const names = (await readdir(dir)).filter((n) => re.test(n)).sort();
    if (names.length === 0) throw new UsageError(`${input}: no file matches`);
    return names.map((n) => join(dir, n));
  }
  const info = await stat(input).catch(() => undefined);
  if (info?.isDirectory()) {
    const names = (await readdir(input)).filter((n) => HDF5_NAME.test(n)).sort();
    return names.map((n) => join(input, n));
  }
  return [input];
}

/** Expands inputs in order, dropping duplicates. */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const out = (await Promise.all(inputs.map(expandOne))).flat();
  return [...new Set(out)];
}
