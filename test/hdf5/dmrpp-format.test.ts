/**
 * The DMR++ forms met in the wild, in small documents written for these tests: the flattened names
 * and compact data of OPeNDAP's own ICESat-2 test files, the newer namespace and position syntax,
 * per-chunk filter masks and data URLs, entities, and the errors that name the document.
 */
import { describe, expect, it } from "vitest";
import { DmrppFile, parseDmrpp, verifyDmrpp } from "../../src/hdf5/dmrpp/index.js";
import { fromBytes } from "../../src/source/index.js";

const HEAD = `<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>
<Dataset xmlns="http://xml.opendap.org/ns/DAP/4.0#" xmlns:dmrpp="http://xml.opendap.org/dap/dmrpp/1.0.0#" dapVersion="4.0" dmrVersion="1.0" name="ATL03_20181228015957_13810110_003_01.h5" dmrpp:href="OPeNDAP_DMRpp_DATA_ACCESS_URL">`;

/** Four little-endian int64 values, base64: 176276, 203645, -1 and 2^53 + 2. */
const INT64S = Buffer.from(new BigInt64Array([176276n, 203645n, -1n, 2n ** 53n + 2n]).buffer).toString(
  "base64",
);

describe("DMR++ forms", () => {
  it("flattened names, compact data without dmrpp:chunks, attributes it cannot represent", async () => {
    const doc = parseDmrpp(
      `${HEAD}
    <Dimension name="ancillary_data_calibrations_ds_channel" size="4"/>
    <Int64 name="ancillary_data_calibrations_total_events">
        <Dim name="/ancillary_data_calibrations_ds_channel"/>
        <Attribute name="long_name" type="String">
            <Value>Total Events</Value>
        </Attribute>
        <Attribute name="DIMENSION_LIST" type="null">
            <Value>UNKNOWN</Value>
        </Attribute>
        <Attribute name="build_dmrpp_metadata" type="Container">
            <Attribute name="build_dmrpp" type="String"><Value>3.21.1</Value></Attribute>
        </Attribute>
        <Attribute name="fullnamepath" type="String">
            <Value>/ancillary_data/calibrations/total_events</Value>
        </Attribute>
        <dmrpp:compact>${INT64S}</dmrpp:compact>
    </Int64>
</Dataset>`,
      "flat.dmrpp",
    );
    expect(doc.name).toBe("ATL03_20181228015957_13810110_003_01.h5");
    expect(doc.href).toBeUndefined();
    const path = "/ancillary_data_calibrations_total_events";
    expect(await doc.datasets.get(path)?.info).toEqual({
      path,
      dtype: "<i8",
      shape: [4],
      maxshape: [4],
      layout: "compact",
      chunkShape: null,
      filters: [],
      fillValue: null,
      attrs: { long_name: "Total Events", fullnamepath: "/ancillary_data/calibrations/total_events" },
    });
    const file = DmrppFile.open(fromBytes(new Uint8Array(0), "file:///granule.h5"), doc);
    expect(await file.read(path)).toEqual(new BigInt64Array([176276n, 203645n, -1n, 2n ** 53n + 2n]));
    expect(await file.chunkRefs(path)).toEqual([]);
    expect(await verifyDmrpp(doc, { fileSize: 0 })).toBeUndefined();
  });

  it("the newer namespace, positions without brackets, filter masks, big-endian data, entities and CDATA", async () => {
    const doc = parseDmrpp(
      `<?xml version="1.0"?>
<!-- written by hand -->
<Dataset xmlns="http://xml.opendap.org/ns/DAP/4.0#" xmlns:dpp="http://opendap.org/ns/dmrpp/1.0#" name="g.h5" dpp:href="https://data.example/g.h5" dpp:version="3.21.1">
  <Group name="gt1l">
    <Attribute name="note" type="String"><Value>a &amp; b &lt; c &#233;</Value></Attribute>
    <Attribute name="cdata" type="String"><Value><![CDATA[x < y]]></Value></Attribute>
    <Attribute name="pair" type="Float32"><Value>0.1</Value><Value>nan</Value></Attribute>
    <Attribute name="big" type="UInt64"><Value>18446744073709551615</Value></Attribute>
    <Dimension name="row" size="25000"/>
    <Group name="heights">
      <Float32 name="h_ph">
        <Dim name="row"/>
        <Dim size="2"/>
        <dpp:chunks compressionType="shuffle deflate" fillValue="3.40282347e+38" byteOrder="BE">
          <dpp:chunkDimensionSizes>10000 2</dpp:chunkDimensionSizes>
          <dpp:chunk offset="4016" nBytes="34" chunkPositionInArray="0 0"/>
          <dpp:chunk offset="4050" nBytes="30" chunkPositionInArray="10000 0" fm="1" href="OPeNDAP_DMRpp_DATA_ACCESS_URL"/>
          <dpp:chunk offset="9000" nBytes="12" chunkPositionInArray="20000 0"/>
        </dpp:chunks>
      </Float32>
    </Group>
  </Group>
</Dataset>`,
      "new.dmrpp",
    );
    expect(doc.href).toBe("https://data.example/g.h5");
    expect(doc.version).toBe("3.21.1");
    expect(doc.groups.get("/gt1l")).toEqual({
      note: "a & b < c é",
      cdata: "x < y",
      pair: [Math.fround(0.1), Number.NaN],
      big: 18446744073709551615n,
    });
    expect(doc.members.get("/")).toEqual(["gt1l"]);
    expect(doc.members.get("/gt1l")).toEqual(["heights"]);
    const ds = doc.datasets.get("/gt1l/heights/h_ph")!;
    expect(ds.info).toMatchObject({
      dtype: ">f4",
      shape: [25000, 2],
      chunkShape: [10000, 2],
      layout: "chunked",
      fillValue: 3.4028234663852886e38,
      filters: [
        { id: 2, name: "shuffle", flags: 1, params: [4] },
        { id: 1, name: "deflate", flags: 1, params: [6] },
      ],
    });
    expect(ds.refs).toEqual([
      { coords: [0, 0], offset: 4016, size: 34, filterMask: 0 },
      { coords: [10000, 0], offset: 4050, size: 30, filterMask: 1 },
      { coords: [20000, 0], offset: 9000, size: 12, filterMask: 0 },
    ]);
    expect(await verifyDmrpp(doc, { fileSize: 9012 })).toBeUndefined();
    expect(await verifyDmrpp(doc, { fileSize: 9011 })).toBe(
      "/gt1l/heights/h_ph has a chunk at bytes 9000-9012, past the end of the 9011-byte file",
    );
  });

  it("chunks in other files, or outside their dataset, make a document unusable for this file", async () => {
    const doc = (chunk: string) =>
      parseDmrpp(
        `${HEAD}<Float64 name="t"><Dim size="100"/><dmrpp:chunks byteOrder="LE"><dmrpp:chunkDimensionSizes>50</dmrpp:chunkDimensionSizes>${chunk}</dmrpp:chunks></Float64></Dataset>`,
        "x.dmrpp",
      );
    expect(
      await verifyDmrpp(
        doc(
          '<dmrpp:chunk offset="0" nBytes="8" chunkPositionInArray="[0]" href="https://elsewhere/other.h5"/>',
        ),
        { fileSize: 100 },
      ),
    ).toBe("/t has chunks in other files");
    expect(
      await verifyDmrpp(doc('<dmrpp:chunk offset="0" nBytes="8" chunkPositionInArray="[25]"/>'), {
        fileSize: 100,
      }),
    ).toBe("/t has a chunk at [25] outside its shape [100] in chunks of [50]");
    expect(
      await verifyDmrpp(doc('<dmrpp:chunk offset="0" nBytes="8" chunkPositionInArray="[100]"/>'), {
        fileSize: 100,
      }),
    ).toMatch(/outside its shape/);
  });

  it("errors name the document and what is wrong", () => {
    const wrap = (body: string) => `${HEAD}${body}</Dataset>`;
    expect(() => parseDmrpp(wrap('<Int32 name="a"><Dim name="/nowhere"/></Int32>'), "d.dmrpp")).toThrow(
      "d.dmrpp: /a uses dimension /nowhere, which is not declared",
    );
    expect(() =>
      parseDmrpp(
        wrap(
          '<Int32 name="a"><Dim size="4"/><dmrpp:chunks><dmrpp:chunk offset="-3" nBytes="4"/></dmrpp:chunks></Int32>',
        ),
        "d.dmrpp",
      ),
    ).toThrow('d.dmrpp: /a has a bad size or offset "-3"');
    expect(() =>
      parseDmrpp(
        wrap(
          '<Int32 name="a"><Dim size="4"/><dmrpp:chunks><dmrpp:chunkDimensionSizes>2 2</dmrpp:chunkDimensionSizes></dmrpp:chunks></Int32>',
        ),
        "d.dmrpp",
      ),
    ).toThrow("d.dmrpp: /a has 1 dimensions but chunks of [2,2]");
    expect(() => parseDmrpp(`${HEAD}<Int32 name="a">`, "d.dmrpp")).toThrow(
      /^d\.dmrpp: not well-formed XML \(<Int32> is never closed/,
    );
    expect(() => parseDmrpp("", "d.dmrpp")).toThrow(
      "d.dmrpp: not well-formed XML (no root element at character 0)",
    );
    expect(() => parseDmrpp(`${HEAD}<Int32 name="a"></Float32></Dataset>`, "d.dmrpp")).toThrow(
      /<\/Float32> closes <Int32>/,
    );
    expect(() => parseDmrpp(`${HEAD}<Int32 name="a">&nbsp;</Int32></Dataset>`, "d.dmrpp")).toThrow(
      /unknown entity &nbsp;/,
    );
  });
});
