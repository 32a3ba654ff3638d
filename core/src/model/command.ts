/**
 * A command as a workflow gives it: an argv array run without a shell (safe for any value), or
 * `{ run, shell }` when a shell is really wanted. Workflow values reach commands as ROLLGATE_*
 * environment variables, never in this text. The schema is `commandSpec` in config/fields.ts.
 */
export type CommandSpec =
  | string[]
  | {
      run: string[] | string;
      shell: boolean | 'sh' | 'bash';
      /** Milliseconds. */
      timeout?: number | undefined;
      env?: Record<string, string> | undefined;
      cwd?: string | undefined;
    };
