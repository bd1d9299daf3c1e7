import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Hdf5File } from "../../src/hdf5/index.js";
import { openFileSource, withReadStats } from "../../src/source/index.js";
import { ROOT } from "../support/cli.js";
import { corpusFiles, sameDtype } from "./corpus.js";

/**
 * The tree and each dataset's description are read once per open file (the index asks for them
 * several times per granule): later calls read nothing and give h5py's answers again; each tree call
 * gets lists of its own, each description is the same object.
 */
describe("an open file's tree and descriptions, asked for twice", () => {
  const corpus = corpusFiles().find((c) => c.path.endsWith("sb3_latest.h5"))!;

  it("reads them once and gives the same answers", async () => {
    const file = await openFileSource(join(ROOT, "fixtures/corpus/sb3_latest.h5"));
    try {
      const { source, stats } = withReadStats(file);
      const h5 = await Hdf5File.open(source);
      const first = await h5.tree();
      expect([...first.datasets].sort()).toEqual(Object.keys(corpus.truth.datasets).sort());
      const described = await Promise.all(first.datasets.map((p) => h5.dataset(p)));
      const reads = stats.requests;
      first.datasets.length = 0;
      first.groups.push("/not-a-group");
      const again = await h5.tree();
      expect(again.groups).toEqual(corpus.truth.groups);
      expect([...again.datasets].sort()).toEqual(Object.keys(corpus.truth.datasets).sort());
      for (const [i, path] of again.datasets.entries()) {
        const info = await h5.dataset(path);
        expect(info).toBe(described[i]);
        const t = corpus.truth.datasets[path]!;
        expect(sameDtype(info!.dtype, t.dtype)).toBe(true);
        expect(info?.shape).toEqual(t.shape ?? []);
        expect(info?.maxshape).toEqual(t.maxshape ?? []);
        // An equivalent spelling of the path names the same dataset.
        expect(await h5.dataset(`${path.slice(1)}/`)).toBe(info);
      }
      expect(stats.requests).toBe(reads);
    } finally {
      await file.close();
    }
  });
});

/** What a path resolves to: the dataset's description, the object's kind, or the error's message. */
async function answers(h5: Hdf5File, path: string): Promise<unknown[]> {
  const settle = (p: Promise<unknown>) =>
    p.then(
      (v) => ["ok", v],
      (e: Error) => ["error", e.message],
    );
  return Promise.all([settle(h5.dataset(path)), settle(h5.kindOf(path)), settle(h5.groupAttrs(path))]);
}

describe("paths resolved from the tree walk", () => {
  it("give every corpus file's datasets, groups and links as a file never walked gives them", async () => {
    let compared = 0;
    for (const { path: file, truth } of corpusFiles()) {
      const [walkedSource, freshSource] = [await openFileSource(file), await openFileSource(file)];
      try {
        const walked = await Hdf5File.open(walkedSource);
        const fresh = await Hdf5File.open(freshSource);
        const tree = await walked.tree();
        const paths = [...tree.groups, ...tree.datasets, ...Object.keys(truth.datasets)];
        paths.push("/soft", "/dangling", "/external", "/soft/", "/nowhere/x");
        for (const path of new Set(paths)) {
          expect(await answers(walked, path), `${file} ${path}`).toEqual(await answers(fresh, path));
          compared++;
        }
      } finally {
        await walkedSource.close();
        await freshSource.close();
      }
    }
    expect(compared).toBeGreaterThan(300);
  });
});
