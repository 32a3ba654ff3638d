/**
 * How workflow names become environment variable names: `db-host` → `DB_HOST`. Commands read
 * inputs as ROLLGATE_INPUT_<NAME> and environment variables as ROLLGATE_VAR_<NAME>, and http
 * probes fill `{{ inputs.NAME }}` / `{{ vars.NAME }}` from the same variables, so every place
 * must map names the same way. Two names that map to one variable (`region`/`REGION`,
 * `db-host`/`db_host`) are rejected at validation, so the mapping never loses a value.
 */
export function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** `ROLLGATE_INPUT_<NAME>`: where commands and probes read the input `name`. */
export function inputEnvVar(name: string): string {
  return `ROLLGATE_INPUT_${envName(name)}`;
}

/** `ROLLGATE_VAR_<NAME>`: where commands and probes read the environment variable `name`. */
export function varEnvVar(name: string): string {
  return `ROLLGATE_VAR_${envName(name)}`;
}
