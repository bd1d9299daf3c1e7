/** A one-line progress bar on a TTY; silent when the stream is a pipe or absent. */

/** Progress reporter for a count of items. */
export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

/** A reporter writing to `stream` only when it is a TTY. */
export function progressReporter(stream: NodeJS.WriteStream | undefined): Progress {
  if (!stream?.isTTY) return { update() {}, done() {} };
  const started = performance.now();
  return {
    update(done, total) {
      const seconds = (performance.now() - started) / 1000;
      const rate = done / Math.max(seconds, 1e-3);
      const remaining = rate > 0 ? (total - done) / rate : 0;
      const width = 30;
      const filled = Math.round((done / Math.max(total, 1)) * width);
      const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
      stream.write(
        `\r[${bar}] ${done}/${total} granules, ${rate.toFixed(1)}/s, ${remaining.toFixed(0)} s left `,
      );
    },
    done() {
      stream.write("\n");
    },
  };
}
