/**
 * The fault suite runs short by default (CI: a few cases per fault, ≲ 90 s in all) and in full with
 * `COYO_FAULTS=full` (more load, more garbage shapes, more ingest kill points).
 */
export const FULL = process.env.COYO_FAULTS === 'full';

/** `short` in the default mode, `full` with `COYO_FAULTS=full`. */
export function byMode<T>(short: T, full: T): T {
  return FULL ? full : short;
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
