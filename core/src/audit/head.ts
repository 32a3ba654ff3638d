import { tailOf } from './tail.js';

/**
 * Where a run's trail ends: the last whole entry's `seq` and `hash` (`hash: null` when the file
 * holds none). Recorded at the end of a run (the GitHub Action's `audit-chain-head` output) and
 * given later to `rollgate audit verify --head`, it catches a trail cut short after the fact,
 * which a hash chain alone cannot: the entries left still link to each other.
 */
export async function auditTrailHead(file: string): Promise<{ seq: number; hash: string | null }> {
  const { seq, hash } = await tailOf(file);
  return { seq, hash };
}
