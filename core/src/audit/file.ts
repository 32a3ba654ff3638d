import { appendFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ProviderError } from '../errors.js';
import type { RunEvent } from '../model/events.js';
import type { AuditSink } from '../ports/audit-sink.js';
import type { ProviderDeps } from '../ports/provider-deps.js';

/** `file`: one JSON Lines file per run, appended in batches so the trail never slows a rollout. */
export const type = 'file';

export const configSchema = z
  .strictObject({
    type: z.literal(type),
    dir: z.string().default('.rollgate/audit').describe('Folder for <run-id>.jsonl files, relative to the working directory'),
  })
  .describe('JSON Lines file per run');
export type FileAuditConfig = z.infer<typeof configSchema>;

export function create(config: FileAuditConfig, deps: ProviderDeps): AuditSink {
  const path = join(resolve(config.dir), `${deps.runId}.jsonl`);
  let queue: string[] = [];
  let writing: Promise<void> = Promise.resolve();
  return {
    type,
    record(event: RunEvent) {
      queue.push(JSON.stringify(event));
    },
    flush() {
      const batch = queue;
      queue = [];
      writing = writing.catch(() => {}).then(async () => {
        if (batch.length === 0) return;
        try {
          await mkdir(resolve(config.dir), { recursive: true });
          await appendFile(path, `${batch.join('\n')}\n`);
        } catch (err) {
          throw new ProviderError(`audit file ${path}: write failed: ${(err as Error).message}`, { cause: err });
        }
      });
      return writing;
    },
  };
}
