/** `parallax-edge sync`: run a connector module and commit its output into the SQLite store. */
import { randomBytes } from 'node:crypto';
import { CommitError, commitSync, runConnector, type CommitResult, type GraphStore, type SyncOutput } from '../src/index.js';
import { CliError, ExitCode, Interrupt, oneLine } from './errors.js';
import { failedStepsReport, formatCount, formatDuration, printable, syncStatsTable } from './format.js';
import { loadConnector, readConfigFile } from './load-connector.js';
import { createProgressRenderer, type ProgressStream } from './progress.js';
import { openStore } from './store.js';

export interface Output extends ProgressStream {
  write(chunk: string): unknown;
}

export interface SyncCommand {
  readonly module: string;
  readonly store: string;
  readonly account: string;
  readonly config?: string;
  readonly syncId?: string;
  readonly exportName?: string;
  readonly strict: boolean;
  /** Compare every row with the stored columns (rows edited by hand are written again). */
  readonly verify?: boolean;
  readonly concurrency?: number;
}

export interface CommandIO {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly cwd: string;
  /** Aborts the run (SIGINT, SIGTERM); an {@link Interrupt} reason sets the message and exit code. */
  readonly signal?: AbortSignal;
}

/** A unique, sortable default sync id: `sync-20260501T120000123Z-3f9a1c`. */
export function defaultSyncId(date = new Date()): string {
  const stamp = date.toISOString().replace(/[-:.]/g, '');
  return `sync-${stamp}-${randomBytes(3).toString('hex')}`;
}

export async function syncCommand(command: SyncCommand, io: CommandIO): Promise<ExitCode> {
  const config = command.config === undefined ? {} : await readConfigFile(command.config, io.cwd);
  // Raced: a module's top-level await or its factory may never settle, and it cannot see the signal.
  const loaded = await untilAborted(
    loadConnector(command.module, {
      cwd: io.cwd,
      config,
      ...(command.exportName !== undefined ? { exportName: command.exportName } : {}),
    }),
    io.signal,
  );
  const store = await openStore(command.store, { cwd: io.cwd, access: 'write' });
  try {
    return await runAndCommit(store, command, loaded.connector, io);
  } finally {
    await store.close().catch(() => undefined);
  }
}

async function runAndCommit(
  store: GraphStore,
  command: SyncCommand,
  connector: Parameters<typeof runConnector>[0],
  io: CommandIO,
): Promise<ExitCode> {
  const syncId = command.syncId ?? defaultSyncId();
  const progress = createProgressRenderer(io.stderr);
  let output: SyncOutput;
  try {
    // Streamed: rows are staged in the store as the steps emit them (bounded memory).
    output = await runConnector(connector, {
      accountId: command.account,
      syncId,
      store,
      strict: command.strict,
      verify: command.verify === true,
      onEvent: (event) => progress.onEvent(event),
      ...(command.concurrency !== undefined ? { concurrency: command.concurrency } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
    });
  } catch (error) {
    progress.close();
    if (io.signal?.aborted) throw interrupted(io.signal);
    throw new CliError(`sync failed before the commit: ${oneLine(error)}; nothing was committed`, ExitCode.SyncFailed);
  }
  progress.close();

  const where = `connector "${output.connectorId}", account "${output.accountId}", store ${command.store}`;
  const committing = performance.now();
  let result: CommitResult;
  try {
    result = await commitSync(store, output);
  } catch (error) {
    const report = failedStepsReport(output.steps);
    if (report) io.stdout.write(`${report}\n`);
    const what = error instanceof CommitError ? `commit refused (${error.code})` : 'commit failed';
    throw new CliError(`${what}: ${oneLine(error)}`, ExitCode.SyncFailed);
  }
  const commitMs = performance.now() - committing;

  const committed = `Committed sync ${output.syncId} (${where}): ${formatCount(result.rowsWritten)} rows written in ${formatDuration(commitMs)}`;
  io.stdout.write(`\n${printable(committed)}\n\n${syncStatsTable(result.stats)}\n`);
  const report = failedStepsReport(output.steps);
  if (report) io.stdout.write(`\n${report}\n`);
  if (output.failedSteps.length > 0) {
    const n = output.failedSteps.length;
    const summary =
      `${n} step${n === 1 ? '' : 's'} failed (${output.failedSteps.join(', ')}); ` +
      `the commit kept the rows ${n === 1 ? 'it' : 'they'} and ${n === 1 ? 'its' : 'their'} dependents last wrote (exit ${ExitCode.PartialSync})`;
    io.stderr.write(`parallax-edge: ${printable(summary)}\n`);
    return ExitCode.PartialSync;
  }
  return ExitCode.Success;
}

/** The one-line error for a sync stopped by `signal` (aborted with an {@link Interrupt}, or anything else as Ctrl-C). */
function interrupted(signal: AbortSignal): CliError {
  const reason: unknown = signal.reason;
  const interrupt = reason instanceof Interrupt ? reason : new Interrupt(ExitCode.Interrupted, 'interrupted');
  return new CliError(`${interrupt.message}; nothing was committed`, interrupt.exitCode);
}

/** `work`, or the {@link interrupted} error as soon as `signal` aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(interrupted(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
