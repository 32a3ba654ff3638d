import type { StepContext } from './step-context.js';

/** Answers metric queries for analysis. */
export interface MetricProvider {
  readonly type: string;
  /**
   * Runs `query` once and returns one number. Throws `NoDataError` when the source has no sample
   * (never a silent zero) and `ProviderError` when it cannot be reached.
   */
  query(query: string, ctx: StepContext): Promise<number>;
}
