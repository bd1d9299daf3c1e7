/** Writing a picture: SVG as it is, PNG rendered by resvg, HTML as one page; always atomically. */
import { writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { InvalidQueryError } from "../errors.js";
import { writeAtomically } from "../export/atomic.js";
import { FONT } from "./svg.js";

/** A picture file format. */
export type PictureFormat = "png" | "svg" | "html";

/** Picture formats by extension. */
const EXTENSIONS: Readonly<Record<string, PictureFormat>> = {
  ".png": "png",
  ".svg": "svg",
  ".html": "html",
  ".htm": "html",
};

/**
 * The format of a picture file from its extension (case-insensitive).
 * @throws InvalidQueryError naming `path` and the valid extensions.
 */
export function pictureFormatOf(
  path: string,
  allowed: readonly PictureFormat[] = ["png", "svg", "html"],
): PictureFormat {
  const ext = extname(path).toLowerCase();
  const format = EXTENSIONS[ext];
  if (format && allowed.includes(format)) return format;
  const what = ext === "" ? "has no extension" : `has an unsupported extension "${ext}"`;
  throw new InvalidQueryError(
    `${path}: picture file ${what}; valid: ${allowed.map((f) => `.${f}`).join(", ")}`,
  );
}

/**
 * PNG bytes of an SVG, rendered by resvg at the SVG's own size on white. The same SVG and fonts
 * give the same bytes.
 */
export async function renderPng(svg: string): Promise<Uint8Array> {
  const { Resvg } = await import("@resvg/resvg-js");
  const resvg = new Resvg(svg, {
    background: "#ffffff",
    fitTo: { mode: "original" },
    font: { loadSystemFonts: true, defaultFontFamily: FONT.split(",")[0]! },
  });
  return resvg.render().asPng();
}

/** Writes `content` (SVG text, PNG bytes or HTML text) to `path` under a temporary name, renamed when complete. */
export async function writePicture(path: string, content: string | Uint8Array): Promise<void> {
  await writeAtomically(path, (tmp) => writeFile(tmp, content, { flag: "wx" }));
}
