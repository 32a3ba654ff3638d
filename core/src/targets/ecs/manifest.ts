import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { CreateServiceCommandInput, RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import { parse } from 'yaml';
import { ProviderError } from '../../errors.js';

/*
 * What a first deploy creates when the service does not exist yet: a YAML (or JSON) file beside
 * the workflow with the task definition to register (RegisterTaskDefinition's input, as
 * `aws ecs register-task-definition --cli-input-json` takes it) and the service to create
 * (CreateService's input without cluster, serviceName and taskDefinition, which the target sets).
 */

export interface Manifest {
  taskDefinition: RegisterTaskDefinitionCommandInput;
  service: Omit<CreateServiceCommandInput, 'cluster' | 'serviceName' | 'taskDefinition'>;
}

export async function readManifest(path: string, workDir: string): Promise<Manifest> {
  const file = isAbsolute(path) ? path : resolve(workDir, path);
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ProviderError(`ecs target: cannot read the manifest ${file}: ${(err as Error).message}`, { nothingChanged: true });
  }
  const m = doc as Partial<Manifest> | null;
  const containers = m?.taskDefinition?.containerDefinitions;
  if (!m || typeof m !== 'object' || !m.taskDefinition?.family || !Array.isArray(containers) || containers.length === 0) {
    throw new ProviderError(
      `ecs target: the manifest ${file} has no task definition with a family and containerDefinitions; it holds \`taskDefinition:\` (as register-task-definition takes it) and \`service:\` (as create-service takes it)`,
      { nothingChanged: true },
    );
  }
  return { taskDefinition: m.taskDefinition, service: m.service ?? {} };
}
