import * as core from '@actions/core';
import { parse as parseYaml } from 'yaml';

/**
 * The one file that reads the action's inputs (style rule 8: adapters own the edge). Every input
 * is read, parsed and checked here, and every problem is collected, so a misconfigured step says
 * everything that is wrong in one go, each message naming its input.
 */

export const MODES = ['run', 'plan', 'resume'] as const;
export const DECISIONS = ['approve', 'reject'] as const;
export const ON_CANCEL = ['rollback', 'resume-later'] as const;

export type Mode = (typeof MODES)[number];
export type Decision = (typeof DECISIONS)[number];
export type OnCancel = (typeof ON_CANCEL)[number];

export interface ActionInputs {
  workflow: string;
  stages: string[];
  environment?: string;
  inputs: Record<string, string>;
  statePath: string;
  mode: Mode;
  decision?: Decision;
  comment?: string;
  approvalEnvironment?: string;
  auditArtifact: string;
  retentionDays?: number;
  /** Absent when not needed (plan, or no deployments and no decision) and not given. */
  token?: string;
  deployments: boolean;
  environmentUrl?: string;
  onCancel: OnCancel;
}

/**
 * The defaults of action.yml, applied here too: a runner always passes them, but a process
 * started another way (a test, `@github/local-action`, a self-hosted wrapper) may not. A test
 * checks that both lists agree.
 */
export const DEFAULTS = {
  stage: '',
  environment: '',
  inputs: '',
  'state-path': '.rollgate/run.json',
  mode: 'run',
  decision: '',
  comment: '',
  'approval-environment': '',
  'audit-artifact': 'rollgate-audit',
  'retention-days': '',
  deployments: 'true',
  'environment-url': '',
  'on-cancel': 'rollback',
} as const satisfies Record<string, string>;

export interface InputProblem {
  input: string;
  message: string;
}

/** One or more inputs are missing or wrong; each problem names its input. */
export class InputsError extends Error {
  override readonly name = 'InputsError';
  constructor(readonly problems: InputProblem[]) {
    super(problems.map((p) => `input '${p.input}': ${p.message}`).join('\n'));
  }
}

/** Characters GitHub refuses in an artifact name (actions/toolkit path-and-artifact-name-validation). */
const ARTIFACT_NAME_FORBIDDEN = /["':<>|*?\r\n\\/]/;
/** `NAME=VALUE` lines, the same shape as the CLI's `--input`. */
const PAIR_LINE = /^[A-Za-z_][A-Za-z0-9_-]*=/;
/** An expression the runner did not expand (`@github/local-action` passes defaults verbatim). */
const UNEXPANDED = /^\$\{\{.*\}\}$/s;

export function readInputs(): ActionInputs {
  const problems: InputProblem[] = [];
  const raw = (name: keyof typeof DEFAULTS | 'workflow' | 'token'): string => {
    const value = core.getInput(name);
    if (value !== '') return value;
    return name in DEFAULTS ? DEFAULTS[name as keyof typeof DEFAULTS] : '';
  };
  const oneOf = <T extends string>(name: keyof typeof DEFAULTS, allowed: readonly T[]): T | undefined => {
    const value = raw(name);
    if (value === '') return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    problems.push({ input: name, message: `must be one of ${allowed.join(', ')} (got '${value}')` });
    return undefined;
  };

  const workflow = raw('workflow');
  if (workflow === '') problems.push({ input: 'workflow', message: 'is required: the path of the rollgate workflow file, e.g. `workflow: rollgate.yml`' });

  const mode = oneOf('mode', MODES) ?? 'run';
  const decision = oneOf('decision', DECISIONS);
  if (decision && mode !== 'resume') problems.push({ input: 'decision', message: `is only for mode: resume (mode is ${mode})` });
  const onCancel = oneOf('on-cancel', ON_CANCEL) ?? 'rollback';

  const deployments = readBoolean('deployments', raw('deployments'), problems);
  const statePath = raw('state-path');
  if (statePath.trim() === '') problems.push({ input: 'state-path', message: 'must not be empty' });

  const auditArtifact = raw('audit-artifact');
  if (auditArtifact === '' || ARTIFACT_NAME_FORBIDDEN.test(auditArtifact)) {
    problems.push({ input: 'audit-artifact', message: `must be a non-empty artifact name without " : < > | * ? \\ / or newlines (got '${auditArtifact}')` });
  }
  const retentionDays = readRetention(raw('retention-days'), problems);
  const environmentUrl = readUrl(raw('environment-url'), problems);
  const inputs = parseWorkflowInputs(raw('inputs'), problems);

  let token: string | undefined = raw('token');
  if (UNEXPANDED.test(token)) token = '';
  const needsToken = mode !== 'plan' && (deployments || (mode === 'resume' && decision !== undefined));
  if (needsToken && token === '') {
    const why = [deployments ? '`deployments: true` records GitHub deployments' : '', decision ? `\`decision: ${decision}\` reads who reviewed the gate` : '']
      .filter(Boolean)
      .join(' and ');
    problems.push({ input: 'token', message: `is required: ${why}; pass \`token: \${{ github.token }}\` (the default) or set \`deployments: false\`` });
  }

  if (problems.length > 0) throw new InputsError(problems);
  return {
    workflow,
    stages: raw('stage')
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter(Boolean),
    ...optional('environment', raw('environment').trim()),
    inputs,
    statePath,
    mode,
    ...(decision ? { decision } : {}),
    ...optional('comment', raw('comment')),
    ...optional('approvalEnvironment', raw('approval-environment').trim()),
    auditArtifact,
    ...(retentionDays !== undefined ? { retentionDays } : {}),
    ...optional('token', token),
    deployments,
    ...optional('environmentUrl', environmentUrl),
    onCancel,
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value ? ({ [key]: value } as Record<K, string>) : {};
}

/** YAML 1.2 core booleans, as `core.getBooleanInput` takes them, with an error naming the input. */
function readBoolean(name: string, value: string, problems: InputProblem[]): boolean {
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  if (['false', 'False', 'FALSE'].includes(value)) return false;
  problems.push({ input: name, message: `must be true or false (got '${value}')` });
  return false;
}

function readRetention(value: string, problems: InputProblem[]): number | undefined {
  if (value === '') return undefined;
  const days = Number(value);
  if (Number.isInteger(days) && days >= 1 && days <= 90) return days;
  problems.push({ input: 'retention-days', message: `must be a whole number of days from 1 to 90 (got '${value}')` });
  return undefined;
}

function readUrl(value: string, problems: InputProblem[]): string | undefined {
  if (value === '') return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === 'https:' || url.protocol === 'http:') return value;
  } catch {
    // reported below
  }
  problems.push({ input: 'environment-url', message: `must be an http(s) URL (got '${value}')` });
  return undefined;
}

/**
 * `inputs:` as `name=value` lines (the CLI's `--input` shape) or as a YAML mapping of scalars.
 * The values are checked later by the workflow's own input rules; here only the shape is.
 */
export function parseWorkflowInputs(text: string, problems: InputProblem[]): Record<string, string> {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return {};
  if (lines.every((l) => PAIR_LINE.test(l.trim()))) {
    const out: Record<string, string> = {};
    for (const line of lines) {
      const trimmed = line.trim();
      const eq = trimmed.indexOf('=');
      out[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
    }
    return out;
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    problems.push({ input: 'inputs', message: `is neither name=value lines nor a YAML mapping: ${(err as Error).message.split('\n')[0]}` });
    return {};
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push({ input: 'inputs', message: 'must be a YAML mapping (version: v2) or name=value lines' });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[name] = String(value);
    else problems.push({ input: 'inputs', message: `the value of '${name}' must be a string, number or boolean` });
  }
  return out;
}
