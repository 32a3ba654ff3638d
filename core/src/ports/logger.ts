/** Where providers write human-readable progress; secrets are masked before it reaches a sink. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** One line of a child process's output. */
  output(stream: 'stdout' | 'stderr', line: string): void;
}
