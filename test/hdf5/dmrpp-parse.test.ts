/**
 * The DMR++ parser against its earlier form (test/hdf5/dmrpp-reference.ts, a generic XML tree and
 * a walk over it): the same document, key order and map order included, for documents of every
 * form; and for thousands of cut and mutated documents, the same document or the same error line.
 * The sidecars h5py writes for the test granules are compared in dmrpp.test.ts.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseDmrpp } from "../../src/hdf5/dmrpp/index.js";
import { mulberry32 } from "../support/random.js";
import { exactly, parseDmrppReference } from "./dmrpp-reference.js";

const SAMPLE = fileURLToPath(new URL("../../fixtures/dmrpp/sample.h5.dmrpp", import.meta.url));

/** What parsing gives: the document as exact text, or the error's class and line. */
function outcome(parse: typeof parseDmrpp, text: string): string {
  try {
    return exactly(parse(text, "m.dmrpp"));
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}

/** Forms the sidecar of the sample file does not have, in one document. */
const VARIETY = `<?xml version="1.0"?>
<!DOCTYPE Dataset>
<!-- written by hand -->
<Dataset xmlns="http://xml.opendap.org/ns/DAP/4.0#" xmlns:dpp="http://opendap.org/ns/dmrpp/1.0#" name="g.h5" dpp:href="https://data.example/g.h5" dpp:version="3.21.1">
  <Attribute name="note" type="String"><Value>a &amp; b &lt; c &#233; &#x41; &quot;q&quot; &apos;</Value></Attribute>
  <Attribute name="cdata" type="String"><Value><![CDATA[x < y & z]]></Value></Attribute>
  <Attribute name="pair" type="Float32"><Value>0.1</Value><Value>nan</Value><Value>-Inf</Value></Attribute>
  <Attribute name="big" type="UInt64"><Value>18446744073709551615</Value></Attribute>
  <Attribute name="small" type="Int64"><Value> -7 </Value></Attribute>
  <Attribute name="inline" type="Int16" ><Value value='12'/></Attribute>
  <Attribute name="skipped" type="Container"><Attribute name="x" type="String"><Value>1</Value></Attribute></Attribute>
  <Attribute name="unknown" type="null"><Value>UNKNOWN</Value></Attribute>
  <Group name="gt1l">
    <Int8 name="before_dim"><Dim name="row"/></Int8>
    <Dimension name="row" size="25000"/>
    <Group name="heights">
      <Float32 name="h_ph">
        <Dim name="row"/>
        <Dim size="2"/>
        <Attribute name="valid" type="Float64"><Value>1e3</Value><Value>-0</Value></Attribute>
        <dpp:chunks compressionType="shuffle  deflate fletcher32 szip" deflateLevel="4" fillValue="3.40282347e+38" byteOrder="BE">
          <dpp:chunkDimensionSizes>10000 2</dpp:chunkDimensionSizes>
          <dpp:chunk offset="9000" nBytes="12" chunkPositionInArray="20000 0"/>
          <dpp:chunk offset="4016" nBytes="34" chunkPositionInArray="0 0"/>
          <dpp:chunk offset="4050" nBytes="30" chunkPositionInArray="10000,0" fm="1" href="OPeNDAP_DMRpp_DATA_ACCESS_URL"/>
        </dpp:chunks>
      </Float32>
      <Int64 name="flat"><Dim name="/gt1l/row"/><dpp:compact>
        lAsAAAAAAAB9HgMAAAAAAA==
      </dpp:compact></Int64>
      <UInt8 name="elsewhere"><Dim size="3"/><dpp:chunks fillValue="255"><dpp:chunk offset="123456789012345" nBytes="1234567890123456" href="https://elsewhere/x.h5"/></dpp:chunks></UInt8>
      <String name="fixed"><dpp:FixedLengthStringArray string_length="5" pad="space_pad"/><dpp:chunks fillValue="ab"><dpp:chunk offset="1" nBytes="5"/></dpp:chunks></String>
      <Structure name="compound"><Int32 name="inner"/></Structure>
      <Opaque name="blob"/>
      <Float64 name="scalar"><dpp:chunks fillValue="-inf"><dpp:chunk offset="8" nBytes="8" chunkPositionInArray="[]"/></dpp:chunks></Float64>
    </Group>
  </Group>
  <Group name="empty"/>
  <?processing instruction?>
</Dataset>
`;

/** Characters that change how a document reads, for the mutations. */
const INTERESTING = [..."<>/\"'&;=! ?[]-#x0123456789az:\n\t\u00a0", "&amp;", "<!--", "-->", "]]>", "CDATA["];

function mutate(text: string, next: () => number): string {
  const at = Math.floor(next() * text.length);
  const pick = INTERESTING[Math.floor(next() * INTERESTING.length)]!;
  const span = 1 + Math.floor(next() * 12);
  switch (Math.floor(next() * 5)) {
    case 0:
      return text.slice(0, at); // cut short
    case 1:
      return text.slice(0, at) + text.slice(at + span); // a few characters lost
    case 2:
      return text.slice(0, at) + pick + text.slice(at); // one inserted
    case 3:
      return text.slice(0, at) + pick + text.slice(at + 1); // one replaced
    default: {
      const from = Math.floor(next() * text.length); // a span copied elsewhere
      return text.slice(0, at) + text.slice(from, from + span * 4) + text.slice(at);
    }
  }
}

describe("the DMR++ parser", () => {
  const sample = readFileSync(SAMPLE, "utf8");
  /** The same documents, respelled: attribute quoting and spacing of the general XML grammar. */
  const respelled = (text: string) => [
    text,
    text.replaceAll('="', ' =\t"'),
    text.replaceAll('"', "'"),
    text.replaceAll("/>", " />").replaceAll(/(?<![?/\]-])>/g, "\n>"),
    text.replaceAll(" name=", "\u00a0name="),
    text.replaceAll("</", "</ ").replaceAll(/(?<![?/\]-])>/g, " >"),
  ];

  it("gives the earlier parser's document for every form, however spelled", () => {
    for (const text of [...respelled(sample), ...respelled(VARIETY)]) {
      const mine = outcome(parseDmrpp, text);
      expect(mine).toBe(outcome(parseDmrppReference, text));
      // Every spelling is read, not rejected: the comparison is of documents, not just of errors.
      expect(mine).toMatch(/^{/);
    }
    expect(parseDmrpp(VARIETY, "v.dmrpp").datasets.size).toBe(8);
    expect(parseDmrpp(sample, "s.dmrpp").datasets.size).toBeGreaterThan(10);
    expect(parseDmrpp(sample.replaceAll('="', ' = "'), "s.dmrpp").datasets.size).toBeGreaterThan(10);
  });

  it("gives the same document or the same error line for thousands of cut and mutated documents", () => {
    const next = mulberry32(20261207);
    let documents = 0;
    const errors = new Set<string>();
    for (let k = 0; k < 3000; k++) {
      let text = k % 2 === 0 ? sample : VARIETY;
      for (let m = 1 + Math.floor(next() * 3); m > 0; m--) text = mutate(text, next);
      const mine = outcome(parseDmrpp, text);
      expect(mine, JSON.stringify(text)).toBe(outcome(parseDmrppReference, text));
      if (mine.startsWith("{")) documents++;
      else errors.add(mine.replace(/\d+/g, "N"));
    }
    // Both kinds of outcome occur, and many different errors.
    expect(documents).toBeGreaterThan(300);
    expect(errors.size).toBeGreaterThan(20);
  });
});
