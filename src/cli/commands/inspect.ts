/** `geochunks inspect <file|url> [--json]`: the HDF5 tree with every chunk's location. */
import { namingInput } from "../../errors.js";
import { addOptions, type Command, examples, type Io } from "../program.js";

/** Adds `inspect` to the program. */
export function inspectCommand(program: Command, io: Io): void {
  const command = program
    .command("inspect")
    .description("list every group, dataset and chunk (byte offset, size, filters) of an HDF5 file")
    .argument("<file|url>", "an HDF5 file: local path, http(s):// or s3:// URL");
  addOptions(command, [
    { flags: "--json", meaning: "print the full report as JSON", default: "text", example: "--json" },
  ]);
  examples(command, ["geochunks inspect granule.h5", "geochunks inspect granule.h5 --json"]);
  command.action((input: string, opts: { json?: boolean }) => inspect(input, opts, io.out));
}

async function inspect(
  input: string,
  values: { json?: boolean },
  out: (text: string) => void,
): Promise<void> {
  // The HDF5 reader loads with this command only, not with every start of the program.
  const [{ inspectHdf5 }, { openSource }] = await Promise.all([
    import("../../hdf5/index.js"),
    import("../../source/index.js"),
  ]);
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
      `${input}: HDF5 superblock v${report.superblock_version}, ${report.size} bytes, ${report.datasets.length} datasets`,
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
