import type { ProbeResult } from '../../model/results.js';

// Type OIDs from pg_type.dat: these are stable across PostgreSQL versions.
const BOOL = 16;
const INTEGERS = new Set([20, 21, 23, 26]); // int8, int2, int4, oid
const DECIMALS = new Set([700, 701, 1700]); // float4, float8, numeric

/**
 * A column's text as a probe value a condition compares naturally: numbers as numbers (a bigint
 * or numeric that a double cannot hold exactly stays text), booleans as booleans, the rest as text.
 */
export function probeValue(text: string | null, typeOid: number): ProbeResult['value'] {
  if (text === null) return null;
  if (typeOid === BOOL) return text === 't';
  if (INTEGERS.has(typeOid)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : text;
  }
  if (DECIMALS.has(typeOid)) {
    const n = Number(text);
    // NaN and Infinity are not JSON: they stay text.
    return Number.isFinite(n) ? n : text;
  }
  return text;
}
