/** `geochunks inspect <file|url> [--json]`: the HDF5 tree with every chunk's location. */
import { namingInput } from "../../errors.js";
import { inspectHdf5 } from "../../hdf5/index.js";
import { openSource } from "../../source/index.js";
import { parseCommand } from "../args.js";
import { UsageError } from "../errors.js";

export const INSPECT_USAGE = "geochunks inspect <file|url> [--json]";

/** Runs `inspect`, writing to `out`. */
export async function inspectCommand(argv: string[], out: (text: string) => void): Promise<void> {
  const { values, positionals } = parseCommand(argv, { json: { type: "boolean" } });
  if (positionals.length !== 1) throw new UsageError(`usage: ${INSPECT_USAGE}`);
  const input = positionals[0]!;
  const source = await openSource(input).catch((err) => {
    throw namingInput(err, input);
  });
  try {
    const report = await inspectHdf5(source).catch((err) => {
      throw namingInput(err, input);
    });
    if (values.json) {
      out(JSON.stringify(report, null, 2));
      return;
    }
    out(
      `${positionals[0]}: HDF5 superblock v${report.superblock_version}, ${report.size} bytes, ${report.datasets.length} datasets`,
    );
    for (const d of report.datasets) {
      const filters = d.filters.map((f) => f.name).join("+") || "none";
      const chunks = d.chunk_shape
        ? ` chunks ${JSON.stringify(d.chunk_shape)} x${d.chunks.length}`
        : ` ${d.layout}`;
      out(
        `  ${d.path}  ${d.dtype} ${JSON.stringify(d.shape)}${chunks} filters ${filters} fill ${JSON.stringify(d.fill_value)}`,
      );
    }
  } finally {
    await source.close();
  }
}
