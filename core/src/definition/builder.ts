import { WorkflowConfigError } from '../errors.js';
import { type LoadResult, parseWorkflow } from './load.js';
import type { FamilyName } from '../registries.js';
import type { Workflow, WorkflowInput } from './schema.js';

type InputSpec = NonNullable<WorkflowInput['inputs']>[string];
type EnvironmentSpec = WorkflowInput['environments'][string];
type ProbeSpec = NonNullable<WorkflowInput['probes']>[string];
type StageSpec = WorkflowInput['stages'][number];
type NotifierSpec = NonNullable<WorkflowInput['notifications']>[number];

/** A stage whose `environment` and `needs` can only name what the builder already declared. */
export type BuilderStage<E extends string, S extends string, N extends string> = Omit<
  StageSpec,
  'name' | 'environment' | 'needs'
> & { name: N; environment: E; needs?: S[] };

/** The file as the builder has it so far (the `stages` list may still be empty). */
type Draft = Omit<WorkflowInput, 'stages'> & { stages: StageSpec[] };

/**
 * Writes a workflow in TypeScript instead of YAML. The result goes through exactly the same
 * checks as a file (it is serialised to JSON and parsed by `parseWorkflow`), so a builder can
 * never produce a workflow that the file format would reject.
 *
 * Each call returns a new builder, so a base can be shared: `const base = workflow('web')…;`
 * then `base.stage(…)` in each test. Declare environments before the stages that use them, and
 * stages before the stages that need them: the types only accept names already declared.
 *
 * @example
 * const wf = workflow('web')
 *   .input('version', { default: 'v2' })
 *   .environment('staging')
 *   .stage({ name: 'deploy-web', environment: 'staging', target: { type: 'command', deploy: ['./deploy.sh'] } })
 *   .build();
 */
export class WorkflowBuilder<E extends string = never, S extends string = never> {
  private constructor(private readonly draft: Draft) {}

  static create(name: string): WorkflowBuilder {
    return new WorkflowBuilder({ version: 1, name, environments: {}, stages: [] });
  }

  description(text: string): this {
    return this.with({ description: text });
  }

  input(name: string, spec: InputSpec = {}): this {
    return this.with({ inputs: { ...this.draft.inputs, [name]: spec } });
  }

  /** Names an environment variable whose value is masked in every output. */
  secret(name: string): this {
    return this.with({ secrets: [...(this.draft.secrets ?? []), name] });
  }

  environment<N extends string>(name: N, spec: EnvironmentSpec = {}): WorkflowBuilder<E | N, S> {
    return new WorkflowBuilder({ ...this.draft, environments: { ...this.draft.environments, [name]: spec } });
  }

  probe(name: string, spec: ProbeSpec): this {
    return this.with({ probes: { ...this.draft.probes, [name]: spec } });
  }

  stage<N extends string>(spec: BuilderStage<E, S, N>): WorkflowBuilder<E, S | N> {
    return new WorkflowBuilder({ ...this.draft, stages: [...this.draft.stages, spec] });
  }

  notify(spec: NotifierSpec): this {
    return this.with({ notifications: [...(this.draft.notifications ?? []), spec] });
  }

  /** A provider family's settings shared by all environments (the block named like the family). */
  settings<F extends FamilyName>(family: F, spec: NonNullable<WorkflowInput[F]>): this {
    return this.with({ [family]: spec } as Partial<WorkflowInput>);
  }

  audit(spec: NonNullable<WorkflowInput['audit']>): this {
    return this.with({ audit: spec });
  }

  defaults(spec: NonNullable<WorkflowInput['defaults']>): this {
    return this.with({ defaults: spec });
  }

  /** The workflow as it would be written in a file. */
  toJSON(): WorkflowInput {
    return structuredClone(this.draft) as WorkflowInput;
  }

  /** Every problem, as for a file named `<builder>` (issues carry paths, not positions). */
  validate(): LoadResult {
    const result = parseWorkflow(JSON.stringify(this.draft), '<builder>');
    const strip = <T extends { line?: number; column?: number }>({ line: _l, column: _c, ...rest }: T) => rest;
    return result.ok
      ? { ...result, warnings: result.warnings.map(strip) }
      : { ...result, errors: result.errors.map(strip), warnings: result.warnings.map(strip) };
  }

  /** The validated workflow; throws `WorkflowConfigError` listing every problem. */
  build(): Workflow {
    const result = this.validate();
    if (!result.ok) throw new WorkflowConfigError(result.errors, `invalid workflow ${this.draft.name} (built in code)`);
    return result.workflow;
  }

  private with(patch: Partial<Draft>): this {
    return new WorkflowBuilder<E, S>({ ...this.draft, ...patch }) as this;
  }
}

/** Starts a workflow named `name` (a slug such as `web`). */
export function workflow(name: string): WorkflowBuilder {
  return WorkflowBuilder.create(name);
}
