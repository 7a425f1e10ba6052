/**
 * Exit codes of the `parallax-edge` CLI. Each outcome has its own code so that
 * scripts and cron jobs can tell them apart:
 *
 * | code | meaning |
 * |------|---------|
 * | 0    | success |
 * | 1    | the sync failed: the commit was refused (a dangling relationship, a reused sync id, a store failure) or the run broke; nothing was committed |
 * | 2    | usage error: unknown command or option, bad option value, missing or invalid config file, connector module missing, broken or not a connector, store path unusable, a store that is missing (reads), not a parallax-edge store, or at a schema version this command does not take (reads: any other; sync and migrate: a newer one); nothing ran |
 * | 3    | partial sync: the commit succeeded but one or more steps failed; the rows those steps and their dependents last wrote were kept (+P1) |
 * | 130  | interrupted (SIGINT) before the commit; nothing was committed |
 * | 143  | terminated (SIGTERM) before the commit; nothing was committed |
 */
export const ExitCode = {
  Success: 0,
  SyncFailed: 1,
  Usage: 2,
  PartialSync: 3,
  Interrupted: 130,
  Terminated: 143,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The abort reason when a signal stops a sync: what to say, and 128 + the signal number, as shells report it. */
export class Interrupt extends Error {
  override readonly name = 'Interrupt';

  constructor(readonly exitCode: ExitCode, message: string) {
    super(message);
  }
}

/**
 * An error the CLI reports as one line on stderr, without a stack trace, and
 * exits with `exitCode`.
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Usage,
    /** Lines printed under the message as they are (already printable), e.g. a query with a caret. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** The message of anything thrown, squeezed onto one line. */
export function oneLine(error: unknown, max = 400): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text
    .split('\n')
    .map((part) => part.trim())
    .filter(Boolean)
    .join(' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
