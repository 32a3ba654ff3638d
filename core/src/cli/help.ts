/** Help texts. Kept in one small module so `--help` and `--version` load nothing else. */
export const USAGE = `rollgate: deployment workflows with rollback, gates and an audit trail, inside your CI

Usage: rollgate <command> [options]

Commands:
  validate FILE     check a workflow file and report every problem at once
  plan FILE         show what would run, given the probes' current values; changes nothing
  run FILE          run a workflow
  resume            continue a paused run, or finish the rollback of a run that died
  audit verify|query|report
                    check the audit trail is intact, search it, or report on one run

Options: --help (for each command), --version, --debug (stack traces)

Exit codes: 0 succeeded · 1 failed and rolled back · 2 invalid input · 3 paused at a gate
            4 manual intervention required · 5 journal not recorded · 6 audit trail incomplete
            130 cancelled
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
            4 manual intervention required · 5 journal not recorded · 6 audit trail incomplete
            130 cancelled (Ctrl-C rolls back the step in flight)
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
  audit: `Usage: rollgate audit verify FILE|DIR... [--key-env NAME] [--head HASH]
       rollgate audit query [PATH...] [filters] [--format table|json|csv]
       rollgate audit report --run ID [PATH...] [--key-env NAME]

The audit trail: one JSON Lines file per run (.rollgate/audit/<run-id>.jsonl), every entry
hash-chained to the one before it, and signed with an HMAC when audit.hmacKeyEnv is set.
A PATH is a file, or a folder (every *.jsonl below it); the default is .rollgate/audit.

verify   checks that no entry was changed, removed or moved. Exit code 0 when intact, 1 when
         not: the first broken entry is printed with its file:line and what is wrong. Files
         are checked in the order given, a run's chain continuing from one to the next. A last
         line cut short by a crash is a warning, not a break.
  --key-env NAME        variable holding the HMAC key (default ROLLGATE_AUDIT_KEY, when set)
  --head HASH           the hash of the last entry, as recorded at the run's end (the GitHub
                        Action's audit-chain-head output): exit 1 when the trail ends elsewhere,
                        so a trail cut short after the fact is caught
query    prints the entries that match every filter, file by file; lines that are not
         entries (cut short by a crash) are skipped and counted.
  --since, --until T    a date or time (2026-01-31, 2026-01-31T12:00:00Z) or a duration back
                        from now (30m, 24h, 7d, 2w); both inclusive
  --env, --stage, --actor, --outcome, --run VALUE
                        exact match (--run takes a run id)
  --kind KIND           exact (stage.finished), or a prefix ending in * (rollback.*)
  --format F            table (default), json (entries as written, one a line), csv
report   a Markdown account of one run, resumes included: who, where, timeline, changes,
         decisions and their evidence, analysis, approvals, rollback, and whether its chain
         verifies
  --run ID              the run (its id names its file, and is in 'audit query' output)
  --key-env NAME        as for verify
`,
} as const;
