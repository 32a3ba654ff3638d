import type { CommandSpec } from '../config/fields.js';
import type { Workflow } from './schema.js';
import { envName } from '../util/env-name.js';
import { placeholders } from '../util/template.js';
import { error, type Finding, type PathSegment, type Rule, warning } from './rule-kit.js';

/*
 * Rules about commands (command targets and probes): values reach them as ROLLGATE_* environment
 * variables, never spliced into argv or script text, and a command target says how to undo.
 */

interface LocatedCommand {
  path: PathSegment[];
  spec: CommandSpec;
}

function commands(workflow: Workflow): LocatedCommand[] {
  const found: LocatedCommand[] = [];
  // Every provider that runs the user's commands: the command and fleet targets, the command
  // router, command probes and command metric providers.
  const push = (config: object, keys: readonly string[], path: (string | number)[]) => {
    for (const key of keys) {
      const spec = (config as Record<string, unknown>)[key] as CommandSpec | undefined;
      if (spec) found.push({ path: [...path, key], spec });
    }
  };
  workflow.stages.forEach((stage, i) => {
    if (stage.target.type === 'command' || stage.target.type === 'fleet') push(stage.target, ['current', 'deploy', 'health', 'revert'], ['stages', i, 'target']);
    if (stage.router?.type === 'command') push(stage.router, ['set', 'get', 'finalize'], ['stages', i, 'router']);
  });
  for (const [name, probe] of Object.entries(workflow.probes)) {
    if (probe.type === 'command') found.push({ path: ['probes', name, 'run'], spec: probe.run });
  }
  for (const [name, provider] of Object.entries(workflow.metricProviders)) {
    if (provider.type === 'command') push(provider, ['run'], ['metricProviders', name]);
  }
  return found;
}

const shellCommands: Rule = {
  name: 'shell-commands',
  input: 'workflow',
  check(workflow) {
    const findings: Finding[] = [];
    for (const { path, spec } of commands(workflow)) {
      const argv = Array.isArray(spec) ? spec : Array.isArray(spec.run) ? spec.run : undefined;
      if (argv) {
        // Placeholders are never filled in commands: `[sh, -c, "… {{ inputs.x }}"]` would splice a
        // value into script text. Values reach commands as environment variables only.
        argv.forEach((arg, j) => {
          const names = placeholders(arg);
          if (names.length === 0) return;
          findings.push(
            error(
              Array.isArray(spec) ? [...path, j] : [...path, 'run', j],
              `placeholders are not expanded in commands; read ${names.map((n) => `${environmentVariableFor(n)} for {{ ${n} }}`).join(', ')} from the environment (e.g. [sh, -c, 'deploy "$ROLLGATE_VERSION"'])`,
            ),
          );
        });
        continue;
      }
      if (Array.isArray(spec) || typeof spec.run !== 'string') continue;
      const runPath = [...path, 'run'];
      if (spec.shell === false) {
        findings.push(
          error(runPath, 'script text needs `shell: true` (or sh, bash) to run; or give an argv list such as [kubectl, apply, -f, web.yaml], which runs without a shell'),
        );
        continue;
      }
      const names = placeholders(spec.run);
      if (names.length) {
        findings.push(
          error(
            runPath,
            `placeholders are not expanded in shell scripts; use ${names.map((n) => `${environmentVariableFor(n)} for {{ ${n} }}`).join(', ')}`,
          ),
        );
      }
    }
    return findings;
  },
};

/** The ROLLGATE_* variable a command reads instead of a placeholder (engine/run-session.ts). */
function environmentVariableFor(placeholder: string): string {
  const [root, key] = placeholder.split('.');
  if (root === 'inputs' && key) return `$ROLLGATE_INPUT_${envName(key)}`;
  if (root === 'vars' && key) return `$ROLLGATE_VAR_${envName(key)}`;
  if (root === 'stage' && !key) return '$ROLLGATE_STAGE';
  if (root === 'environment' && !key) return '$ROLLGATE_ENVIRONMENT';
  return '$ROLLGATE_INPUT_<NAME> / $ROLLGATE_VAR_<NAME>';
}

const revertableTargets: Rule = {
  name: 'revertable-targets',
  input: 'workflow',
  check(workflow) {
    return workflow.stages.flatMap((stage, i) =>
      stage.target.type === 'command' && !stage.target.revert
        ? [
            warning(
              ['stages', i, 'target'],
              `failures in stage ${stage.name} cannot be rolled back automatically: the command target has no revert command (it would get $ROLLGATE_PREVIOUS_VERSION)`,
            ),
          ]
        : [],
    );
  },
};

/** The rules of this file, in the order their findings are produced. */
export const commandRules: readonly Rule[] = [shellCommands, revertableTargets];
