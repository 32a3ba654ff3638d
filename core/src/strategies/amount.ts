import { z } from 'zod';
import type { Amount } from '../ports/strategy.js';

/** A count (`3`) or a percentage (`"25%"`) of the full scale, as written in workflow files. */
export const amountSchema = z
  .union([z.number().int().min(0), z.string().regex(/^\d{1,3}(\.\d+)?%$/, 'expected a count such as 3 or a percentage such as "25%"')])
  .transform((v): Amount => (typeof v === 'number' ? { count: v } : { percent: Number(v.slice(0, -1)) }));

/** Resolves an amount against a full scale; percentages round up, so 1% of 50 is 1, never 0. */
export function resolveAmount(amount: Amount, full: number): number {
  if ('count' in amount) return Math.min(amount.count, full);
  return Math.min(full, Math.ceil((amount.percent / 100) * full - 1e-9));
}

export function describeAmount(amount: Amount): string {
  return 'count' in amount ? String(amount.count) : `${amount.percent}%`;
}
