/**
 * The product registry: importing this module registers every product profile. A product is
 * added by writing its profile module (which calls `registerProfile`) and importing it here, one
 * line per product, in name order.
 */
import "./atl03.js";
import "./atl06.js";
import "./atl08.js";
import "./gedi02a.js";

export type {
  BeamLayout,
  ColumnChoice,
  ColumnSource,
  ColumnType,
  DatasetSource,
  Detection,
  FilterValue,
  GranuleAttributes,
  ParentLocation,
  ParentRate,
  PlotHints,
  ProductProfile,
  ProfileFilter,
  ProfileReadOptions,
  ResultColumn,
  SharedColumn,
  TimeScale,
} from "./profile.js";
export {
  attrText,
  chosenColumn,
  datasetPath,
  detectProfile,
  exampleDatasets,
  findProfile,
  registeredProfiles,
  registerProfile,
  resultColumnNames,
  rowGroupOf,
  sourceDatasets,
} from "./profile.js";
