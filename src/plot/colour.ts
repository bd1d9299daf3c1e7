/** Colour ramps (d3-scale-chromatic's perceptual ramps), their value ranges and ticks. */
import {
  interpolateCividis,
  interpolateInferno,
  interpolateMagma,
  interpolatePlasma,
  interpolateRdYlBu,
  interpolateSpectral,
  interpolateTurbo,
  interpolateViridis,
} from "d3-scale-chromatic";
import type { ColourMapName } from "./colour-names.js";

export { DEFAULT_COLOUR_MAP } from "./colour-names.js";

/** The colour ramps `--cmap` takes, by name: value 0..1 to a CSS colour (names in colour-names.ts). */
export const COLOUR_MAPS: Readonly<Record<ColourMapName, (t: number) => string>> = {
  viridis: interpolateViridis,
  cividis: interpolateCividis,
  turbo: interpolateTurbo,
  magma: interpolateMagma,
  inferno: interpolateInferno,
  plasma: interpolatePlasma,
  spectral: interpolateSpectral,
  rdylbu: interpolateRdYlBu,
};

/**
 * Percentiles (0..1) a ramp spans by default: the 2nd to the 98th, so a few outliers (cloud
 * returns hundreds of metres off the surface) do not flatten every other colour.
 */
export const ROBUST_RANGE: readonly [number, number] = [0.02, 0.98];

/** A colour ramp over a value range. */
export interface ColourScale {
  /** Lowest and highest value of the ramp; values outside take the end colours. */
  domain: [number, number];
  /** The ramp's name. */
  name: string;
  /** Colour of a value ("#rrggbb"-like CSS text); NaN gets {@link NULL_COLOUR}. */
  colour(value: number): string;
  /** Position of a value on the ramp, 0..1 (clamped). */
  position(value: number): number;
}

/** Colour of a row whose value is null. */
export const NULL_COLOUR = "#9a9a9a";

/**
 * The value range of a ramp: `range` when given, else the {@link ROBUST_RANGE} percentiles of
 * the finite `values` (widened by 1 either side when they are all equal; [0, 1] when none).
 */
export function colourDomain(values: ArrayLike<number>, range?: [number, number]): [number, number] {
  if (range) return range;
  const finite = Float64Array.from(values).filter(Number.isFinite).sort();
  if (finite.length === 0) return [0, 1];
  const at = (q: number) => finite[Math.min(finite.length - 1, Math.floor(q * (finite.length - 1) + 0.5))]!;
  const lo = at(ROBUST_RANGE[0]);
  const hi = at(ROBUST_RANGE[1]);
  return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
}

/** A ramp by name over a domain. */
export function colourScale(name: string, domain: [number, number]): ColourScale {
  const ramp = (COLOUR_MAPS as Readonly<Record<string, ((t: number) => string) | undefined>>)[name];
  if (!ramp) throw new Error(`unknown colour map ${name}`);
  const [lo, hi] = domain;
  const position = (v: number) => Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
  return {
    domain,
    name,
    position,
    colour: (v) => (Number.isNaN(v) ? NULL_COLOUR : ramp(position(v))),
  };
}
