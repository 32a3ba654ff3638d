/** Help texts. Kept in one small module so `--help` and `--version` load nothing else. */
export const USAGE = `rollgate: deployment workflows with rollback, gates and an audit trail, inside your CI

Usage: rollgate <command> [options]

Commands:
  validate FILE     check a workflow file and report every problem at once
  plan FILE         show what would run, given the probes' current values; changes nothing
  run FILE          run a workflow
  resume            continue a paused run, or finish the rollback of a run that died

Options: --help (for each command), --version, --debug (stack traces)

Exit codes: 0 succeeded · 1 failed and rolled back · 2 invalid input · 3 paused at a gate
            4 manual intervention required · 130 cancelled
`;

export const HELP = {
  validate: `Usage: rollgate validate FILE

Checks FILE (YAML or JSON) against the workflow schema and its rules, and prints every problem
with its file:line:column and field. Exit code 0 when valid, 2 when not.
`,
  plan: `Usage: rollgate plan FILE [--stage NAME]... [--env NAME] [--input NAME=VALUE]... [--json]

Shows the stages that would run, in order and by level (stages of one level run in parallel),
with each stage's steps. Probes named in \`when\` conditions are measured (read-only) and the
conditions evaluated, so the plan says which stages would be skipped. Nothing is changed.
  --stage NAME          only this stage (repeatable)
  --env NAME            only the stages of this environment
  --input NAME=VALUE    a workflow input (repeatable)
  --scenario FILE       failures to inject into the simulated infrastructure
  --json                print the plan as JSON
`,
  run: `Usage: rollgate run FILE [options]

Runs the workflow. Progress is printed as it happens and a summary at the end; the run journal
is written after every transition so 'rollgate resume' can continue it.
  --stage NAME          only this stage (repeatable); its needs outside the selection count as met
  --env NAME            only the stages of this environment
  --input NAME=VALUE    a workflow input (repeatable)
  --state PATH          run journal (default .rollgate/run.json); keep it as a CI artifact
  --scenario FILE       failures to inject into the simulated infrastructure (YAML: failures: [...])
  --actor NAME          who started the run (default: from the CI platform, or $USER)
  --json                print events as JSON Lines instead of text
  --debug               show stack traces

Exit codes: 0 succeeded · 1 failed and rolled back · 2 invalid input · 3 paused at a gate
            4 manual intervention required · 130 cancelled (Ctrl-C rolls back the step in flight)
`,
  resume: `Usage: rollgate resume [--state PATH] [--approve | --reject] [--by NAME] [--comment TEXT]

Continues the run in the journal:
  - paused at an approval gate: --approve or --reject carries the decision (recorded with --by)
  - its process died mid-rollout: rolls back the stages it was changing
  - rollback left incomplete: retries what is left
  --state PATH          run journal (default .rollgate/run.json)
  --workflow FILE       workflow file (default: the path recorded in the journal)
  --resolved TEXT       after a manual intervention: record that what was left was fixed by hand
                        (TEXT says how); the run ends rolled back
  --accept-changed-workflow
                        finish a rollback with a changed workflow file (a fixed undo command);
                        only for runs that are rolling back, never to go forward
  --scenario FILE       failures to inject into the simulated infrastructure
  --actor NAME          who resumes (default: from the CI platform, or $USER)
  --json                print events as JSON Lines
`,
} as const;
