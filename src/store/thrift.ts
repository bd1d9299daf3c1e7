/**
 * The Thrift compact protocol as Parquet footers and page headers use it, walked in place: fields,
 * lists and values read from the bytes without building objects.
 */

import {
  BINARY,
  BYTE,
  DOUBLE,
  FALSE,
  I16,
  I32,
  I64,
  LIST,
  SET,
  STRUCT,
  TRUE,
} from "../parquet/thrift-types.js";

export { BINARY, BYTE, DOUBLE, FALSE, I16, I32, I64, LIST, SET, STRUCT, TRUE };

/** A position in a Thrift struct's bytes. */
export class Cursor {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
  ) {}

  byte(): number {
    if (this.pos >= this.bytes.length) throw new Error("thrift struct ended without STOP");
    return this.bytes[this.pos++]!;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      shift += 7;
    }
  }

  zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  bigZigzag(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7n;
    }
    return (result >> 1n) ^ -(result & 1n);
  }

  /** Id of the field header read last by {@link Cursor.field}; size of the list read by {@link Cursor.list}. */
  id = 0;
  size = 0;

  /** Reads a field header after field `last`: returns its type (0 at the struct's end), its id in {@link Cursor.id}. */
  field(last: number): number {
    const b = this.byte();
    const type = b & 0x0f;
    if (type === 0) return 0;
    const delta = b >> 4;
    this.id = delta ? last + delta : this.zigzag();
    return type;
  }

  /** Reads a list header: returns its element type, its size in {@link Cursor.size}. */
  list(): number {
    const b = this.byte();
    const size = b >> 4;
    this.size = size === 15 ? this.varint() : size;
    return b & 0x0f;
  }

  /** Skips a value of `type` (in a list, booleans are one byte each). */
  skip(type: number, inList = false): void {
    switch (type) {
      case TRUE:
      case FALSE:
        if (inList) this.pos++;
        return;
      case BYTE:
        this.pos++;
        return;
      case I16:
      case I32:
      case I64:
        while (this.byte() & 0x80);
        return;
      case DOUBLE:
        this.pos += 8;
        return;
      case BINARY: {
        const n = this.varint();
        this.pos += n;
        return;
      }
      case LIST:
      case SET: {
        const elem = this.list();
        for (let i = this.size; i > 0; i--) this.skip(elem, true);
        return;
      }
      case STRUCT: {
        let id = 0;
        for (;;) {
          const t = this.field(id);
          if (t === 0) return;
          id = this.id;
          this.skip(t);
        }
      }
      default:
        throw new Error(`thrift unhandled type: ${type}`);
    }
  }

  /** Bytes of a BINARY value. */
  binary(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.bytes.length) throw new Error(`thrift binary length ${n} exceeds the footer`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}
