/**
 * Icechunk repositories under an S3 prefix (`export icechunk --repo s3://bucket/prefix`), with the
 * discipline Icechunk's own writers keep: new snapshots, manifests and transaction logs (fresh random
 * ids, never overwritten) are PUT first; then the repo info file, the format's one mutable object and
 * what names main's tip, is replaced with `If-Match` on the ETag read at the start (`If-None-Match: *`
 * when creating the repository). A writer that loses the race deletes what it uploaded and starts
 * again on the winner's repository.
 *
 * What the repository holds (geochunks' state file, see repository.ts) is kept as
 * `geochunks/state-<SHA-256 of the repo file>.json`, written before the repo file: the state of any
 * published repo file is found from its bytes, even after a writer was killed between the two PUTs.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConditionalWriteError, StoreError } from "../../errors.js";
import { backoffDelay, sleep } from "../../source/retry.js";
import type { S3SourceOptions } from "../../source/s3.js";
import { S3Objects } from "../../source/s3-write.js";
import { trackTemporary } from "../../store/temporaries.js";
import type { VirtualTree } from "../virtual.js";
import { crockford, INITIAL_SNAPSHOT_ID } from "./ids.js";
import { commitVirtualTree, type IcechunkCommit, type RepoState, STATE_FILE } from "./repository.js";

/** Times an export is computed again after another writer moved main first. */
export const MAX_ICECHUNK_ATTEMPTS = 10;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** The repository location without a trailing slash. */
function rootOf(url: string): string {
  return url.replace(/\/+$/, "");
}

/** The repo file of the repository at `url` with its ETag and geochunks' state, or undefined when there is none. */
async function readRepo(url: string, s3: S3Objects) {
  const repo = await s3.get(`${rootOf(url)}/repo`);
  if (!repo) return undefined;
  const stateUrl = `${rootOf(url)}/geochunks/state-${sha256(repo.body)}.json`;
  const state = await s3.get(stateUrl);
  if (!state) {
    throw new StoreError(url, `${url}: not an Icechunk repository written by geochunks (no ${stateUrl})`);
  }
  return { etag: repo.etag, state: state.body };
}

/** What the repository at `url` holds, or undefined when there is none. */
export async function readS3RepoState(
  url: string,
  opts: S3SourceOptions = {},
): Promise<RepoState | undefined> {
  const repo = await readRepo(url, new S3Objects(opts));
  return repo && (JSON.parse(new TextDecoder().decode(repo.state)) as RepoState);
}

/**
 * Commits the granules of `tree` that the repository at `url` does not hold yet (creating it when
 * missing), as {@link commitVirtualTree} does for a folder.
 * @throws ConditionalWriteError after {@link MAX_ICECHUNK_ATTEMPTS} lost races; SourceError naming the object.
 */
export async function commitVirtualTreeToS3(
  url: string,
  tree: VirtualTree,
  opts: S3SourceOptions = {},
): Promise<IcechunkCommit> {
  const s3 = new S3Objects(opts);
  for (let attempt = 1; ; attempt++) {
    const work = await mkdtemp(join(tmpdir(), "geochunks-icechunk-"));
    const untrack = trackTemporary(work);
    const uploaded: string[] = [];
    try {
      const current = await readRepo(url, s3);
      if (current) {
        await writeFile(join(work, STATE_FILE), current.state);
        // The working copy holds only the state; a commit adds files to these folders.
        for (const folder of ["snapshots", "manifests", "transactions"]) await mkdir(join(work, folder));
      }
      const commit = await commitVirtualTree(work, tree);
      if (commit.granules.length === 0) return commit;
      for (const file of await newObjects(work)) {
        const key = `${rootOf(url)}/${file}`;
        const bytes = await readFile(join(work, file));
        if (file.endsWith(crockford(INITIAL_SNAPSHOT_ID))) {
          // Every new repository has this id: a racing creator's copy is kept, never replaced or deleted.
          await s3.put(key, bytes, { ifNoneMatch: "*" }).catch((err: unknown) => {
            if (!(err instanceof ConditionalWriteError)) throw err;
          });
          continue;
        }
        await s3.put(key, bytes);
        uploaded.push(key);
      }
      const repo = await readFile(join(work, "repo"));
      const stateKey = `${rootOf(url)}/geochunks/state-${sha256(repo)}.json`;
      await s3.put(stateKey, await readFile(join(work, STATE_FILE)));
      uploaded.push(stateKey);
      const condition = current ? { ifMatch: current.etag } : { ifNoneMatch: "*" as const };
      await s3.put(`${rootOf(url)}/repo`, repo, condition);
      return commit;
    } catch (err) {
      // What a failed or beaten attempt uploaded is referenced by no repo file.
      await Promise.all(uploaded.map((k) => s3.delete(k).catch(() => undefined)));
      if (!(err instanceof ConditionalWriteError) || attempt >= MAX_ICECHUNK_ATTEMPTS) throw err;
    } finally {
      await rm(work, { recursive: true, force: true });
      untrack();
    }
    await sleep(backoffDelay(attempt - 1));
  }
}

/** The immutable files a commit wrote in `work` (snapshots, manifests, transaction logs), relative paths. */
async function newObjects(work: string): Promise<string[]> {
  const out: string[] = [];
  for (const folder of ["snapshots", "manifests", "transactions"]) {
    const names = await readdir(join(work, folder)).catch(() => [] as string[]);
    out.push(...names.filter((n) => !n.endsWith(".tmp")).map((n) => `${folder}/${n}`));
  }
  return out;
}
