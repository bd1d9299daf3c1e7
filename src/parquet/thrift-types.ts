/** Thrift compact protocol type ids, shared by the reader (store/thrift.ts) and the writer (thrift-writer.ts). */
export const TRUE = 1;
export const FALSE = 2;
export const BYTE = 3;
export const I16 = 4;
export const I32 = 5;
export const I64 = 6;
export const DOUBLE = 7;
export const BINARY = 8;
export const LIST = 9;
export const SET = 10;
export const STRUCT = 12;
