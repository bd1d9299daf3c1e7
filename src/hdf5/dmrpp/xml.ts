/**
 * A small XML reader for DMR++ documents: elements, attributes, text, comments, CDATA and the five
 * named entities plus numeric character references. No DTDs, no namespaces resolution (prefixes
 * are kept in the names). The core packages take no runtime dependencies, and DMR++ needs no more.
 *
 * Speed matters here (a full-size ICESat-2 sidecar holds 12,000 elements in 650 KB, parsed on the
 * index builder's main thread), so the reader scans with `charCodeAt` and `indexOf`: a start tag in
 * the plain form DMR++ builders write (`<name a="v" b='w'/>`) is read in one pass without
 * intermediate strings, its element and attribute names interned; any other tag goes through the
 * general path, which accepts and rejects exactly the same texts.
 */
import { InvalidHdf5Error } from "../../errors.js";

/** One element: its qualified name, attributes, child elements and concatenated text. */
export interface XmlElement {
  name: string;
  /** `name` without its namespace prefix (`dmrpp:chunks` -> `chunks`). */
  local: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** Deepest element nesting accepted; DMR++ nests groups a few levels deep. */
const MAX_DEPTH = 256;

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

/**
 * Parses an XML document into its root element.
 * @throws InvalidHdf5Error (named `what`) when the text is not well-formed: an unclosed or
 *   mismatched tag, a truncated document, or no root element.
 */
export function parseXml(text: string, what: string): XmlElement {
  return new Reader(text, what).document();
}

/** The children of an element that has none yet: shared, replaced by an array of its own on the first child. */
const NO_CHILDREN: XmlElement[] = Object.freeze([]) as unknown as XmlElement[];

/** One parse: the text, where the reader is, and the spellings met so far. */
class Reader {
  readonly text: string;
  readonly what: string;
  /** Where the reader is: the start of the text or markup being read (error lines give it). */
  i = 0;
  readonly names: Spellings;
  /** Short texts repeat too: layout before a first child, attribute values such as units. */
  readonly texts: Spellings;
  /** The first `&` at or after the last place asked about (the text's length when none). */
  amp = -1;
  /** Set by {@link plainTag} and {@link generalTag}: the tag just read ends with `/>`; and where it ends. */
  selfClosing = false;
  tagEnd = 0;

  constructor(text: string, what: string) {
    this.text = text;
    this.what = what;
    this.names = new Spellings(text, 255);
    this.texts = new Spellings(text, 64);
  }

  readonly fail = (why: string): never => {
    throw new InvalidHdf5Error(`${this.what}: not well-formed XML (${why} at character ${this.i})`);
  };

  /** `text[start, end)` with its entities decoded; most texts have none, and are not searched twice. */
  decoded(start: number, end: number, spellings: Spellings | undefined): string {
    if (this.amp < start) {
      const at = this.text.indexOf("&", start);
      this.amp = at < 0 ? this.text.length : at;
    }
    const raw = spellings ? spellings.get(start, end) : this.text.slice(start, end);
    return this.amp < end ? decodeEntities(raw, this.fail) : raw;
  }

  document(): XmlElement {
    const { text, fail } = this;
    const stack: XmlElement[] = [];
    let root: XmlElement | undefined;
    while (this.i < text.length) {
      const lt = text.indexOf("<", this.i);
      const end = lt < 0 ? text.length : lt;
      const open = stack.length > 0 ? stack[stack.length - 1] : undefined;
      if (end > this.i) {
        // Text between child elements is layout (DMR++ has no mixed content): only leaves keep theirs.
        if (open) {
          if (open.children.length === 0) open.text += this.decoded(this.i, end, this.texts);
        } else if (text.slice(this.i, end).trim() !== "") fail("text outside the root element");
      }
      if (lt < 0) break;
      this.i = lt;
      const next = text.charCodeAt(lt + 1);
      if (next === BANG || next === QUESTION) {
        if (text.startsWith("<!--", lt)) this.i = skipPast(text, lt, "-->", fail);
        else if (text.startsWith("<![CDATA[", lt)) {
          const close = skipPast(text, lt, "]]>", fail);
          if (!open) fail("CDATA outside the root element");
          open!.text += text.slice(lt + 9, close - 3);
          this.i = close;
        } else if (next === QUESTION) this.i = skipPast(text, lt, "?>", fail);
        else this.i = skipPast(text, lt, ">", fail);
      } else if (next === SLASH) {
        const close = skipPast(text, lt, ">", fail);
        const closed = stack.pop();
        // `</name>` as written, else the general form (spaces around the name).
        const same =
          closed !== undefined &&
          close === lt + 3 + closed.name.length &&
          text.startsWith(closed.name, lt + 2);
        if (!same) {
          const name = text.slice(lt + 2, close - 1).trim();
          if (!closed || closed.name !== name) fail(`</${name}> closes <${closed?.name ?? "nothing"}>`);
        }
        this.i = close;
      } else {
        const element = plainTag(this, lt) ?? generalTag(this, lt);
        if (open) {
          if (open.children === NO_CHILDREN) open.children = [element];
          else open.children.push(element);
        } else if (root) fail("a second root element");
        else root = element;
        if (!this.selfClosing) stack.push(element);
        if (stack.length > MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`);
        this.i = this.tagEnd;
      }
    }
    if (stack.length > 0) fail(`<${stack[stack.length - 1]!.name}> is never closed`);
    return root ?? fail("no root element");
  }
}

/** Characters of names in the plain form: ASCII letters, digits, `_`, `-`, `.` and `:`. */
function isNameChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x3a) || // 0-9 and :
    c === 0x5f || // _
    c === 0x2d || // -
    c === 0x2e // .
  );
}

/** Space, tab, line feed, carriage return: the layout whitespace of the plain form. */
function isLayout(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

/**
 * The element of the start tag at `from` when the tag has the plain form `<name a="v" b='w'>` or
 * `<name .../>` (layout whitespace only, names of {@link isNameChar}, `=` right after the name);
 * else undefined, and {@link generalTag} reads it.
 */
function plainTag(reader: Reader, from: number): XmlElement | undefined {
  const { text, names } = reader;
  let j = from + 1;
  while (isNameChar(text.charCodeAt(j))) j++;
  if (j === from + 1) return undefined;
  const name = names.get(from + 1, j);
  const attrs: Record<string, string> = {};
  for (;;) {
    let c = text.charCodeAt(j);
    while (isLayout(c)) c = text.charCodeAt(++j);
    if (c === GT || c === SLASH) {
      if (c === SLASH && text.charCodeAt(j + 1) !== GT) return undefined;
      reader.selfClosing = c === SLASH;
      reader.tagEnd = c === SLASH ? j + 2 : j + 1;
      return element(name, names.local(name), attrs);
    }
    const start = j;
    while (isNameChar(c)) c = text.charCodeAt(++j);
    if (j === start || c !== EQUALS) return undefined;
    const quote = text.charCodeAt(++j);
    if (quote !== DQUOTE && quote !== SQUOTE) return undefined;
    const close = text.indexOf(quote === DQUOTE ? '"' : "'", j + 1);
    if (close < 0) return undefined;
    attrs[names.get(start, j - 1)] = reader.decoded(j + 1, close, undefined);
    j = close + 1;
  }
}

/** Any start tag, the way the general grammar reads it (names of any characters, `\s` anywhere). */
function generalTag(reader: Reader, from: number): XmlElement {
  const { text, fail } = reader;
  const close = tagEnd(text, from, fail);
  const selfClosing = text[close - 2] === "/";
  const body = text.slice(from + 1, close - (selfClosing ? 2 : 1));
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
  reader.selfClosing = selfClosing;
  reader.tagEnd = close;
  return element(name, reader.names.local(name), attrs);
}

const ATTRIBUTE = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function element(name: string, local: string, attrs: Record<string, string>): XmlElement {
  return { name, local, attrs, children: NO_CHILDREN, text: "" };
}

/**
 * Substrings of the document, each spelling kept once: a document repeats a few dozen element and
 * attribute names thousands of times (and layout and values such as units hundreds of times); one
 * string per spelling saves the allocations and makes comparisons cheap.
 */
class Spellings {
  readonly #text: string;
  readonly #maxLength: number;
  /** The last substring seen by a hash of its length and three of its characters; checked before use. */
  readonly #slots: (string | undefined)[] = new Array(SLOTS).fill(undefined);
  readonly #locals = new Map<string, string>();

  /** Substrings longer than `maxLength` are sliced each time. */
  constructor(text: string, maxLength: number) {
    this.#text = text;
    this.#maxLength = maxLength;
  }

  /** The substring `text[start, end)`. */
  get(start: number, end: number): string {
    const text = this.#text;
    const length = end - start;
    if (length > this.#maxLength) return text.slice(start, end);
    const slot =
      (length * 31 +
        text.charCodeAt(start) * 7 +
        text.charCodeAt(end - 1) * 131 +
        text.charCodeAt(start + (length >> 1))) &
      (SLOTS - 1);
    const known = this.#slots[slot];
    if (known !== undefined && known.length === length && text.startsWith(known, start)) return known;
    const spelling = text.slice(start, end);
    this.#slots[slot] = spelling;
    return spelling;
  }

  /** `name` without its namespace prefix. */
  local(name: string): string {
    let local = this.#locals.get(name);
    if (local === undefined) {
      const colon = name.indexOf(":");
      local = colon < 0 ? name : name.slice(colon + 1);
      this.#locals.set(name, local);
    }
    return local;
  }
}

/** Slots of a {@link Spellings} (a power of two). */
const SLOTS = 1024;

/** Index just past the next `marker` after `from`. */
function skipPast(text: string, from: number, marker: string, fail: (why: string) => never): number {
  const at = text.indexOf(marker, from);
  return at < 0 ? fail(`unterminated ${text.slice(from, from + 4)}`) : at + marker.length;
}

/** Index just past the `>` that ends the tag at `from`, skipping `>` inside quoted values. */
function tagEnd(text: string, from: number, fail: (why: string) => never): number {
  let quote = 0;
  for (let j = from + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (quote) {
      if (c === quote) quote = 0;
    } else if (c === DQUOTE || c === SQUOTE) quote = c;
    else if (c === GT) return j + 1;
    else if (c === LT) fail("'<' inside a tag");
  }
  return fail("unterminated tag");
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
