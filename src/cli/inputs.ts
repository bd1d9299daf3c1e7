/** Expanding index inputs: the library's expansion, shared so the command and scripts agree. */
export { expandInputs } from "../index-builder/inputs.js";
