import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type ConfigIssue, UsageError, WorkflowConfigError } from '../errors.js';
import { normalize } from './normalize.js';
import { type Finding, isRecord, runRules } from './rules.js';
import { type Workflow, workflowSchema } from './schema.js';
import { Locator } from './yaml-locator.js';
import { readYaml } from './yaml-source.js';
import { describe, problem, translate } from './zod-messages.js';

export { formatPath } from './yaml-locator.js';

/**
 * Workflow text → `Workflow`, in three layers (zod schema, `normalize`, named rules), reporting
 * every problem at once with file:line:column and a path. Reading the YAML (and stopping a file
 * too deep or too aliased to walk) is yaml-source.ts; locating findings is yaml-locator.ts; the
 * schema's issues in the user's words are zod-messages.ts.
 *
 * Paths name fields with dots and list items with brackets; stages are named rather than
 * numbered when their name is unique: `stages[deploy-web].strategy.type`, `probes.db.url`,
 * `notifications[0].type`, `environments.prod.variables["API HOST"]`.
 */

export type LoadResult =
  | { ok: true; workflow: Workflow; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

export interface LoadedWorkflow {
  workflow: Workflow;
  /** Absolute path of the file. */
  path: string;
  /** Its folder: relative paths in the workflow (command `cwd`) are resolved against it. */
  dir: string;
  text: string;
  /** Hex SHA-256 of the file's bytes, recorded in the run journal and the audit trail. */
  sha256: string;
  warnings: ConfigIssue[];
}

/** Validates workflow text. `file` is only used in the issues (as given, so keep it relative). */
export function parseWorkflow(text: string, file: string): LoadResult {
  const yaml = readYaml(text, file);
  const { errors, warnings, raw } = yaml;
  if (!yaml.usable) return finish(undefined, errors, warnings);

  const findings: Finding[] = [];
  let workflow: Workflow | undefined;
  if (raw === null || raw === undefined) {
    findings.push(problem([], 'the file is empty; a workflow needs at least version: 1, name, environments and stages'));
  } else if (!isRecord(raw)) {
    findings.push(problem([], `expected a map of workflow settings (version, name, environments, stages), got ${describe(raw)}`));
  } else {
    // Parsed once per process: zod's compiled fast path would cost more to build than it saves.
    const parsed = workflowSchema.safeParse(raw, { jitless: true });
    if (parsed.success) workflow = normalize(parsed.data);
    else findings.push(...parsed.error.issues.flatMap((issue) => translate(issue, [], raw)));
  }
  findings.push(...runRules(workflow, raw));

  const locator = new Locator(file, yaml.doc, yaml.lines, raw);
  for (const finding of findings) (finding.severity === 'error' ? errors : warnings).push(locator.issue(finding));
  return finish(workflow, errors, warnings);
}

/**
 * Reads and validates a workflow file. Throws `UsageError` when the file cannot be read and
 * `WorkflowConfigError` (with every error) when its content is invalid.
 */
export async function loadWorkflowFile(path: string): Promise<LoadedWorkflow> {
  const absolute = resolve(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch (err) {
    throw new UsageError(readProblem(path, absolute, err), { cause: err });
  }
  const text = bytes.toString('utf8');
  const result = parseWorkflow(text, path);
  if (!result.ok) {
    const count = result.errors.length;
    throw new WorkflowConfigError(result.errors, `invalid workflow ${path} (${count} problem${count === 1 ? '' : 's'})`);
  }
  return {
    workflow: result.workflow,
    path: absolute,
    dir: dirname(absolute),
    text,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    warnings: result.warnings,
  };
}

function readProblem(path: string, absolute: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
  const what =
    code === 'ENOENT'
      ? `no such file (looked for ${absolute}); check the path and the working directory`
      : code === 'EISDIR'
        ? `it is a directory; give the workflow file in it, e.g. ${join(path, 'rollgate.yml')}`
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied; make the file readable by the user running rollgate'
          : `${(err as Error).message}; check that the path names a readable file`;
  return `cannot read workflow file ${path}: ${code}: ${what}`;
}

function finish(workflow: Workflow | undefined, errors: ConfigIssue[], warnings: ConfigIssue[]): LoadResult {
  const tidy = (issues: ConfigIssue[]) => {
    const seen = new Set<string>();
    return issues
      .filter((i) => {
        const key = `${i.line}:${i.column}:${i.path}:${i.message}`;
        return seen.has(key) ? false : (seen.add(key), true);
      })
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  };
  if (errors.length > 0 || !workflow) return { ok: false, errors: tidy(errors), warnings: tidy(warnings) };
  return { ok: true, workflow, warnings: tidy(warnings) };
}
