/** DMR++ sidecars: OPeNDAP's XML description of an HDF5 file, as an alternative source of its metadata. */
export type { DmrppFileOptions } from "./file.js";
export { DmrppFile } from "./file.js";
export type { DmrppDataset, DmrppDocument } from "./parse.js";
export { parseDmrpp } from "./parse.js";
export type { DmrppCheck } from "./verify.js";
export { verifyDmrpp } from "./verify.js";
