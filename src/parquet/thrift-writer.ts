/**
 * The Thrift compact protocol as Parquet writes its page headers, footers and page indexes: fields
 * appended to one growing byte buffer, the counterpart of store/thrift.ts' reader. Format only: the GeoParquet
 * result encoder (export/) and the store's part files (store/) both write with it.
 */

import { BINARY, BYTE, FALSE, I16, I32, I64, LIST, STRUCT, TRUE } from "./thrift-types.js";

/** Element types of {@link ThriftWriter.list}. */
export const LIST_OF = { i32: I32, i64: I64, binary: BINARY, struct: STRUCT } as const;

const UTF8 = new TextEncoder();

/** A Thrift compact struct being written: field after field, in increasing field id order. */
export class ThriftWriter {
  private bytes = new Uint8Array(256);
  /** Bytes written. */
  length = 0;
  /** Id of the last field of each open struct, innermost last. */
  private readonly last: number[] = [0];

  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  private byte(b: number): void {
    this.room(1);
    this.bytes[this.length++] = b;
  }

  /** An unsigned varint of up to 2^53. */
  varint(v: number): void {
    this.room(8);
    while (v >= 0x80) {
      this.bytes[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.bytes[this.length++] = v;
  }

  private zigzag(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  private header(id: number, type: number): void {
    const at = this.last.length - 1;
    const delta = id - this.last[at]!;
    if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
    else {
      this.byte(type);
      this.zigzag(id);
    }
    this.last[at] = id;
  }

  i32(id: number, v: number): this {
    this.header(id, I32);
    this.zigzag(v);
    return this;
  }

  i16(id: number, v: number): this {
    this.header(id, I16);
    this.zigzag(v);
    return this;
  }

  /** An i64 field of a safe integer (offsets, sizes, counts). */
  i64(id: number, v: number): this {
    this.header(id, I64);
    this.zigzag(v);
    return this;
  }

  i8(id: number, v: number): this {
    this.header(id, BYTE);
    this.byte(v & 0xff);
    return this;
  }

  bool(id: number, v: boolean): this {
    this.header(id, v ? TRUE : FALSE);
    return this;
  }

  binary(id: number, v: Uint8Array): this {
    this.header(id, BINARY);
    this.raw(v);
    return this;
  }

  string(id: number, v: string): this {
    return this.binary(id, UTF8.encode(v));
  }

  /** A length-prefixed byte string without a field header (a list element). */
  raw(v: Uint8Array): void {
    this.varint(v.length);
    this.room(v.length);
    this.bytes.set(v, this.length);
    this.length += v.length;
  }

  /** A zigzag integer without a field header (a list element). */
  int(v: number): void {
    this.zigzag(v);
  }

  /** A struct field: `fields` writes its fields. */
  struct(id: number, fields: () => void): this {
    this.header(id, STRUCT);
    this.body(fields);
    return this;
  }

  /** A struct's fields and its stop byte, without a field header (a list element, the message). */
  body(fields: () => void): void {
    this.last.push(0);
    fields();
    this.byte(0);
    this.last.pop();
  }

  /** A list field of `size` elements of `type`, which the caller writes next (`int`, `raw`, `body`). */
  list(id: number, type: number, size: number): this {
    this.header(id, LIST);
    if (size < 15) this.byte((size << 4) | type);
    else {
      this.byte(0xf0 | type);
      this.varint(size);
    }
    return this;
  }

  /** The bytes written (a view of the buffer). */
  finish(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/** The bytes of one Thrift struct whose fields `fields` writes. */
export function thriftStruct(fields: (w: ThriftWriter) => void): Uint8Array {
  const w = new ThriftWriter();
  w.body(() => fields(w));
  return w.finish();
}
