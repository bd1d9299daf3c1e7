/** Expanding index inputs: paths, folders, simple globs, URLs and @list files, as the command takes them. */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { SourceError } from "../errors.js";

/** File names a folder input contributes. */
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
    if (names.length === 0) throw new SourceError(`${input}: no file matches`, { status: 404, url: input });
    return names.map((n) => join(dir, n));
  }
  const info = await stat(input).catch(() => undefined);
  if (info?.isDirectory()) {
    const names = (await readdir(input)).filter((n) => HDF5_NAME.test(n)).sort();
    return names.map((n) => join(input, n));
  }
  return [input];
}

/**
 * Expands granule inputs in order, dropping duplicates: a URL (`https://`, `s3://`...) or a file
 * stays as it is; a folder gives its `.h5`/`.hdf5`/`.he5` files; a glob in the last path
 * component (`dir/*.h5`, `?` for one character) gives the matching names, sorted; `@list.txt`
 * gives the expansion of each of its lines (blank lines and `#` comments skipped).
 * @throws SourceError (status 404) for a glob that matches nothing; the file system's error for
 * an unreadable list or folder.
 * @example
 * await expandInputs(["granules/*.h5", "@more.txt", "s3://bucket/ATL06_20190601202758_10330303_006_01.h5"]);
 */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const out = (await Promise.all(inputs.map(expandOne))).flat();
  return [...new Set(out)];
}
