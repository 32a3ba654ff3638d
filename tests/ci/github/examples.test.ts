import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWorkflowFile } from '../../../core/src/index.js';
import { DEFAULTS } from '../../../action/src/inputs.js';
import { ROOT } from './support.js';

/*
 * The example workflows are parsed by GitHub's own parser (@actions/workflow-parser, the one the
 * VS Code extension and the language server use), action.yml by its action parser, and what the
 * examples use of the action (inputs given, outputs read) is checked against action.yml.
 */

// The parser imports its JSON schemas without import attributes (it is meant for bundlers);
// this hook adds them, so Node's own loader takes them.
const hooks = `export async function load(url, context, next) {
  return next(url, url.endsWith('.json') ? { ...context, importAttributes: { type: 'json' } } : context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

type Parser = typeof import('@actions/workflow-parser');
type ActionParser = typeof import('@actions/workflow-parser/actions/index');
let parser: Parser;
let actionParser: ActionParser;

interface RawStep {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface RawJob {
  if?: string;
  environment?: string | { name: string; deployment?: boolean };
  concurrency?: unknown;
  outputs?: Record<string, string>;
  steps: RawStep[];
}

const EXAMPLES = join(ROOT, 'examples/github');
const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description?: string }>;
  runs: Record<string, string>;
};
const githubWorkflows = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yml') && 'jobs' in (parse(readFileSync(join(EXAMPLES, f), 'utf8')) as object));

beforeAll(async () => {
  parser = await import('@actions/workflow-parser');
  actionParser = await import('@actions/workflow-parser/actions/index');
});

describe('action.yml', () => {
  it("is a valid action for GitHub's parser: node24, with a post step that always runs", () => {
    const parsed = actionParser.parseAction({ name: 'action.yml', content: readFileSync(join(ROOT, 'action.yml'), 'utf8') }, new parser.NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    const template = actionParser.convertActionTemplate(parsed.context, parsed.value as NonNullable<typeof parsed.value>);
    expect(template.runs).toMatchObject({ using: 'node24', main: 'action/dist/main.js', post: 'action/dist/post.js', postIf: 'always()' });
    expect(existsSync(join(ROOT, 'action/dist/main.js')) && existsSync(join(ROOT, 'action/dist/post.js'))).toBe(true);
  });

  it('describes every input and output, in kebab-case', () => {
    for (const [name, def] of [...Object.entries(action.inputs), ...Object.entries(action.outputs)]) {
      expect(name).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      expect(def.description, name).toBeTruthy();
    }
    expect(Object.keys(action.outputs)).toEqual(
      expect.arrayContaining(['result', 'exit-code', 'paused-gate', 'state-path', 'deployment-id', 'audit-path', 'audit-chain-head', 'summary']),
    );
  });

  it('has the defaults the code applies when a runner does not pass them', () => {
    const declared = Object.fromEntries(Object.entries(action.inputs).flatMap(([k, v]) => (v.default !== undefined && k !== 'token' ? [[k, v.default]] : [])));
    expect(declared).toEqual(DEFAULTS);
    expect(action.inputs.token?.default).toBe('${{ github.token }}');
    expect(action.inputs.workflow?.required).toBe(true);
  });
});

describe.each(githubWorkflows)('examples/github/%s', (file) => {
  const content = readFileSync(join(EXAMPLES, file), 'utf8');
  const raw = parse(content) as { jobs: Record<string, RawJob>; permissions?: Record<string, string> };
  const uses = Object.entries(raw.jobs).flatMap(([job, j]) => j.steps.filter((s) => s.uses === './').map((s) => ({ job, step: s })));

  it("parses with GitHub's workflow parser, without errors", async () => {
    const parsed = parser.parseWorkflow({ name: file, content }, new parser.NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    const template = await parser.convertWorkflowTemplate(parsed.context, parsed.value as NonNullable<typeof parsed.value>);
    expect(template.errors ?? []).toEqual([]);
    expect(template.jobs.map((j) => j.id.value).sort()).toEqual(Object.keys(raw.jobs).sort());
  });

  it('gives the action only inputs it has, and every required one', () => {
    expect(uses.length).toBeGreaterThan(0);
    for (const { job, step } of uses) {
      const given = Object.keys(step.with ?? {});
      expect(given.filter((k) => !(k in action.inputs)), `${job}: unknown inputs`).toEqual([]);
      const required = Object.entries(action.inputs).filter(([, d]) => d.required).map(([k]) => k);
      expect(required.filter((k) => !given.includes(k)), `${job}: missing inputs`).toEqual([]);
      expect(existsSync(join(ROOT, String(step.with?.workflow))), `${job}: workflow file`).toBe(true);
    }
  });

  it('reads only outputs the action sets', () => {
    const ids = new Set(uses.map((u) => u.step.id).filter(Boolean));
    const read = [...content.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)].filter((m) => ids.has(m[1])).map((m) => m[2] as string);
    expect(read.length).toBeGreaterThan(0);
    expect(read.filter((o) => !(o in action.outputs))).toEqual([]);
  });

  it('grants the permissions the action needs', () => {
    expect(raw.permissions).toMatchObject({ contents: 'read', deployments: 'write', actions: 'read' });
  });

  it('never runs two rollouts of one environment at once, and always closes a gate', () => {
    for (const { job } of uses) expect(raw.jobs[job]?.concurrency, `${job}: concurrency`).toBeTruthy();
    const resumers = uses.filter((u) => u.step.with?.mode === 'resume');
    const approve = resumers.find((u) => u.step.with?.decision === 'approve');
    const reject = resumers.find((u) => u.step.with?.decision === 'reject');
    // The approving job runs in a (protected) environment: GitHub starts it only after a review.
    const env = raw.jobs[approve?.job ?? '']?.environment;
    expect(typeof env === 'string' ? env : env?.name).toBe('production');
    // The rejecting job runs whatever happened to the gate.
    expect(raw.jobs[reject?.job ?? '']?.if).toMatch(/always\(\)/);
  });

  it('runs a rollgate workflow that is valid', async () => {
    for (const { step } of uses) await expect(loadWorkflowFile(join(ROOT, String(step.with?.workflow)))).resolves.toBeTruthy();
  });
});
