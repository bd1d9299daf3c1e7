/**
 * A small XML reader for DMR++ documents: elements, attributes, text, comments, CDATA and the five
 * named entities plus numeric character references. No DTDs, no namespaces resolution (prefixes
 * are kept in the names). The core packages take no runtime dependencies, and DMR++ needs no more.
 */
import { InvalidHdf5Error } from "../../errors.js";

/** One element: its qualified name, attributes, child elements and concatenated text. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** Deepest element nesting accepted; DMR++ nests groups a few levels deep. */
const MAX_DEPTH = 256;

/**
 * Parses an XML document into its root element.
 * @throws InvalidHdf5Error (named `what`) when the text is not well-formed: an unclosed or
 *   mismatched tag, a truncated document, or no root element.
 */
export function parseXml(text: string, what: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  const fail = (why: string): never => {
    throw new InvalidHdf5Error(`${what}: not well-formed XML (${why} at character ${i})`);
  };
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const end = lt < 0 ? text.length : lt;
    const open = stack.at(-1);
    // Text between child elements is layout (DMR++ has no mixed content): only leaves keep theirs.
    if (end > i && open?.children.length === 0) open.text += decodeEntities(text.slice(i, end), fail);
    else if (end > i && !open && text.slice(i, end).trim() !== "") fail("text outside the root element");
    if (lt < 0) break;
    i = lt;
    if (text.startsWith("<!--", i)) i = skipPast(text, i, "-->", fail);
    else if (text.startsWith("<![CDATA[", i)) {
      const close = skipPast(text, i, "]]>", fail);
      if (stack.length === 0) fail("CDATA outside the root element");
      stack.at(-1)!.text += text.slice(i + 9, close - 3);
      i = close;
    } else if (text.startsWith("<?", i)) i = skipPast(text, i, "?>", fail);
    else if (text.startsWith("<!", i)) i = skipPast(text, i, ">", fail);
    else if (text.startsWith("</", i)) {
      const close = skipPast(text, i, ">", fail);
      const name = text.slice(i + 2, close - 1).trim();
      const open = stack.pop();
      if (!open || open.name !== name) fail(`</${name}> closes <${open?.name ?? "nothing"}>`);
      i = close;
    } else {
      const close = tagEnd(text, i, fail);
      const selfClosing = text[close - 2] === "/";
      const element = parseTag(text.slice(i + 1, close - (selfClosing ? 2 : 1)), fail);
      if (stack.length > 0) stack.at(-1)!.children.push(element);
      else if (root) fail("a second root element");
      else root = element;
      if (!selfClosing) stack.push(element);
      if (stack.length > MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`);
      i = close;
    }
  }
  if (stack.length > 0) fail(`<${stack.at(-1)!.name}> is never closed`);
  return root ?? fail("no root element");
}

/** Index just past the next `marker` after `from`. */
function skipPast(text: string, from: number, marker: string, fail: (why: string) => never): number {
  const at = text.indexOf(marker, from);
  return at < 0 ? fail(`unterminated ${text.slice(from, from + 4)}`) : at + marker.length;
}

/** Index just past the `>` that ends the tag at `from`, skipping `>` inside quoted values. */
function tagEnd(text: string, from: number, fail: (why: string) => never): number {
  let quote = "";
  for (let j = from + 1; j < text.length; j++) {
    const c = text[j]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ">") return j + 1;
    else if (c === "<") fail("'<' inside a tag");
  }
  return fail("unterminated tag");
}

const ATTRIBUTE = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function parseTag(body: string, fail: (why: string) => never): XmlElement {
  const name = /^[^\s/>]+/.exec(body)?.[0] ?? fail("a tag without a name");
  const attrs: Record<string, string> = {};
  const rest = body.slice(name.length);
  let seen = 0;
  for (const m of rest.matchAll(ATTRIBUTE)) {
    if (rest.slice(seen, m.index).trim() !== "") fail(`stray text in <${name}>`);
    attrs[m[1]!] = decodeEntities(m[2] ?? m[3] ?? "", fail);
    seen = m.index + m[0].length;
  }
  if (rest.slice(seen).trim() !== "") fail(`stray text in <${name}>`);
  return { name, attrs, children: [], text: "" };
}

const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(s: string, fail: (why: string) => never): string {
  if (!s.includes("&")) return s;
  return s.replace(/&([^;\s&]{1,10});/g, (all, ref: string) => {
    if (ref.startsWith("#x") || ref.startsWith("#X"))
      return codePoint(Number.parseInt(ref.slice(2), 16), all, fail);
    if (ref.startsWith("#")) return codePoint(Number.parseInt(ref.slice(1), 10), all, fail);
    return NAMED[ref] ?? fail(`unknown entity ${all}`);
  });
}

function codePoint(n: number, all: string, fail: (why: string) => never): string {
  return Number.isInteger(n) && n >= 0 && n <= 0x10ffff
    ? String.fromCodePoint(n)
    : fail(`bad reference ${all}`);
}
