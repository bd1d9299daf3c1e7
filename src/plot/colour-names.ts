/**
 * Names of the colour ramps `--cmap` takes, without loading the ramps themselves (d3-scale-chromatic),
 * so that the command line's help and argument checks cost nothing; plot/colour.ts maps each to its ramp.
 */
export const COLOUR_MAP_NAMES = [
  "viridis",
  "cividis",
  "turbo",
  "magma",
  "inferno",
  "plasma",
  "spectral",
  "rdylbu",
] as const;

/** A colour ramp's name. */
export type ColourMapName = (typeof COLOUR_MAP_NAMES)[number];

/** The default ramp: perceptually uniform and readable by colour-blind viewers. */
export const DEFAULT_COLOUR_MAP: ColourMapName = "viridis";
