import { createHash, createHmac } from 'node:crypto';
import type { Workflow } from '../definition/schema.js';
import { JournalError, UsageError, type RollgateError } from '../errors.js';
import type { RunJournal } from '../model/journal.js';
import { resolveInputs } from './inputs.js';
import { planRun } from './plan.js';

/**
 * What ties a journal to the workflow it was started from. A run decides its inputs, its stage
 * selection and each stage's version once, at the start; a resumed job must act on exactly those,
 * not on a journal edited between the gate job and the resume job. The binding is a hash over
 * them and the workflow file's hash, keyed with the audit HMAC key when the workflow has one
 * (then only the key's holder can write a journal that passes).
 */

/** Secret values the run knows, with the variable each came from. */
export type SecretSource = { name: string; value: string };

/**
 * How to rebuild each input that holds a secret: its text split around the secrets, each secret
 * replaced by the variable it came from. The journal keeps this instead of the value.
 */
export function secretInputParts(inputs: Record<string, string>, secrets: readonly SecretSource[]): RunJournal['secretInputs'] {
  const sorted = [...secrets].filter((s) => s.value.length >= 3).sort((a, b) => b.value.length - a.value.length);
  const out: NonNullable<RunJournal['secretInputs']> = {};
  for (const [name, value] of Object.entries(inputs)) {
    const parts = split(value, sorted);
    if (parts.some((p) => typeof p !== 'string')) out[name] = parts;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function split(text: string, secrets: readonly SecretSource[]): (string | { env: string })[] {
  for (const s of secrets) {
    const at = text.indexOf(s.value);
    if (at < 0) continue;
    const before = text.slice(0, at);
    const after = text.slice(at + s.value.length);
    return [...(before ? split(before, secrets) : []), { env: s.name }, ...(after ? split(after, secrets) : [])];
  }
  return [text];
}

/**
 * The inputs with their secrets read again from this job's environment. Throws `UsageError`
 * naming the variables that are not set: the journal never holds the secret itself.
 */
export function rebuildSecretInputs(journal: RunJournal, env: Record<string, string>): Record<string, string> {
  const inputs = { ...journal.inputs };
  const missing = new Set<string>();
  for (const [name, parts] of Object.entries(journal.secretInputs ?? {})) {
    inputs[name] = parts
      .map((p) => {
        if (typeof p === 'string') return p;
        const value = env[p.env];
        if (!value) missing.add(p.env);
        return value ?? '';
      })
      .join('');
  }
  if (missing.size > 0) {
    const names = [...missing];
    throw new UsageError(
      `run ${journal.runId} has inputs built from secrets, which the journal does not keep: set ${names.join(', ')} in this job's environment ` +
        `(as in the job that started the run) and resume again`,
    );
  }
  return inputs;
}

/** The binding hash of a journal's decisions (its stored, masked inputs included). */
export function bindingOf(journal: RunJournal, key?: string): string {
  const versions = Object.fromEntries(Object.entries(journal.stages).map(([name, r]) => [name, r.version]));
  const content = JSON.stringify([journal.workflow.sha256, journal.runId, journal.inputs, journal.secretInputs ?? {}, journal.selection, versions]);
  return key ? createHmac('sha256', key).update(content).digest('hex') : createHash('sha256').update(content).digest('hex');
}

/**
 * Checks that a loaded journal is the one its run wrote from this workflow: the binding hash, and
 * that the inputs, the stages and their versions are what the workflow gives for those inputs.
 * `inputs` are the rebuilt ones (secrets read from the environment). With `changedWorkflow` (a
 * rollback finished with a corrected file) only the binding is checked.
 */
export function checkBinding(
  journal: RunJournal,
  workflow: Workflow,
  inputs: Record<string, string>,
  opts: { key?: string; location: string; changedWorkflow?: boolean; mask: (text: string) => string },
): Map<string, string> {
  const refuse = (what: string): RollgateError =>
    new JournalError(
      `run journal ${opts.location} does not match the run that wrote it: ${what}. It was edited, or belongs to another workflow; it was left as it is. ` +
        "Restore the journal from the CI artifact that 'rollgate run' wrote.",
    );
  if (journal.workflow.binding !== bindingOf(journal, opts.key)) {
    throw refuse(
      journal.workflow.binding === undefined
        ? 'it carries no binding hash'
        : `its inputs, stage selection or versions changed since it was written${opts.key ? ' (or the audit HMAC key differs)' : ''}`,
    );
  }
  if (opts.changedWorkflow) return new Map();
  let plan;
  try {
    plan = planRun(workflow, resolveInputs(workflow, inputs), journal.selection);
  } catch (err) {
    throw refuse(`its inputs or selection are not valid for the workflow (${(err as Error).message.split('\n').join(' ')})`);
  }
  const planned = new Map(plan.stages.map((s) => [s.name, s.version]));
  const names = Object.keys(journal.stages);
  const missing = [...planned.keys()].filter((n) => !Object.hasOwn(journal.stages, n));
  const extra = names.filter((n) => !planned.has(n));
  if (missing.length > 0 || extra.length > 0) {
    throw refuse(`its stages (${names.join(', ') || 'none'}) are not the workflow's (${[...planned.keys()].join(', ')})`);
  }
  for (const [name, version] of planned) {
    // The file holds versions as masked as everything else in it.
    const recorded = journal.stages[name]?.version;
    if (recorded !== version && recorded !== opts.mask(version)) {
      throw refuse(`stage ${name} records version '${recorded ?? ''}', but its inputs give '${opts.mask(version)}'`);
    }
  }
  return planned;
}
