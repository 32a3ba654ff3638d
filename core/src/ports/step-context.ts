import type { Change } from '../model/events.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/** Passed last to every port method: cancellation, time, logging and change reporting. */
export interface StepContext {
  runId: string;
  stage: string;
  step: string;
  /** Aborts on cancellation or when the step's deadline passes; long work must honour it. */
  signal: AbortSignal;
  clock: Clock;
  log: Logger;
  /** Environment variables handed to commands: the runner's env plus rollgate's ROLLGATE_* values. */
  env: Record<string, string>;
  /** Reports one infrastructure change; it becomes an `infra.changed` event and an audit entry. */
  recordChange(change: Change): void;
}
