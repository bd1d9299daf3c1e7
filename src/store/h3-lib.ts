/**
 * The one module that imports the H3 library (h3-js): the store's cells (h3.ts) and the cells of
 * points computed here (h3-grid.ts) take its functions from this module, so the library stays an
 * edge dependency with a single entry.
 */
export {
  areNeighborCells,
  cellToBoundary,
  cellToLatLng,
  getIcosahedronFaces,
  getPentagons,
  getResolution,
  gridDisk,
  gridPathCells,
  isPentagon,
  latLngToCell,
  POLYGON_TO_CELLS_FLAGS,
  polygonToCellsExperimental,
} from "h3-js";
