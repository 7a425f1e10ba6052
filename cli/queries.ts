/** The read commands: `stats`, `entities`, `syncs`. They never create a store. */
import type { GraphStore } from '../src/index.js';
import { CliError, ExitCode, oneLine } from './errors.js';
import { countsReport, entitiesTable, HISTORY_LEGEND, historyTable, jsonText, plural, printable } from './format.js';
import { openStore } from './store.js';
import type { CommandIO } from './sync.js';

export interface ReadCommon {
  readonly store: string;
  /** Undefined: every account. */
  readonly account?: string;
  readonly json: boolean;
}

async function withStore<T>(common: ReadCommon, io: CommandIO, read: (store: GraphStore) => Promise<T>): Promise<T> {
  const store = await openStore(common.store, { cwd: io.cwd, access: 'read' });
  try {
    return await read(store);
  } catch (error) {
    if (error instanceof CliError) throw error;
    // Bad cursors and limits are RangeErrors from the store's paging checks.
    if (error instanceof RangeError) throw new CliError(oneLine(error));
    throw new CliError(`cannot read store ${common.store}: ${oneLine(error)}`, ExitCode.SyncFailed);
  } finally {
    await store.close().catch(() => undefined);
  }
}

const scope = (common: ReadCommon): string => (common.account === undefined ? 'all accounts' : `account "${common.account}"`);

export async function statsCommand(common: ReadCommon, io: CommandIO): Promise<ExitCode> {
  const counts = await withStore(common, io, (store) =>
    store.counts(common.account === undefined ? {} : { accountId: common.account }),
  );
  if (common.json) io.stdout.write(jsonText(counts));
  else io.stdout.write(`${printable(`Store ${common.store}, ${scope(common)}`)}: ${countsReport(counts)}\n`);
  return ExitCode.Success;
}

export interface EntitiesCommand extends ReadCommon {
  readonly type?: string;
  readonly class?: string;
  readonly connector?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

export async function entitiesCommand(command: EntitiesCommand, io: CommandIO): Promise<ExitCode> {
  const page = await withStore(command, io, (store) =>
    store.listEntities({
      ...(command.account !== undefined ? { accountId: command.account } : {}),
      ...(command.type !== undefined ? { type: command.type } : {}),
      ...(command.class !== undefined ? { class: command.class } : {}),
      ...(command.connector !== undefined ? { connectorId: command.connector } : {}),
      ...(command.limit !== undefined ? { limit: command.limit } : {}),
      ...(command.cursor !== undefined ? { cursor: command.cursor } : {}),
    }),
  );
  if (command.json) {
    io.stdout.write(jsonText(page));
    return ExitCode.Success;
  }
  if (page.items.length === 0) {
    io.stdout.write(`${printable(`No entities match (${scope(command)}).`)}\n`);
    return ExitCode.Success;
  }
  io.stdout.write(`${entitiesTable(page.items)}\n`);
  const more = page.nextCursor ? `; next page: --cursor ${page.nextCursor}` : '';
  io.stdout.write(`\n${printable(`${plural(page.items.length, 'entity', 'entities')}${more}`)}\n`);
  return ExitCode.Success;
}

export interface SyncsCommand extends ReadCommon {
  readonly connector?: string;
  readonly limit?: number;
}

export async function syncsCommand(command: SyncsCommand, io: CommandIO): Promise<ExitCode> {
  const records = await withStore(command, io, (store) =>
    store.syncHistory({
      ...(command.account !== undefined ? { accountId: command.account } : {}),
      ...(command.connector !== undefined ? { connectorId: command.connector } : {}),
      ...(command.limit !== undefined ? { limit: command.limit } : {}),
    }),
  );
  if (command.json) {
    io.stdout.write(jsonText(records));
    return ExitCode.Success;
  }
  if (records.length === 0) {
    io.stdout.write(`${printable(`No syncs recorded (${scope(command)}${command.connector ? `, connector "${command.connector}"` : ''}).`)}\n`);
    return ExitCode.Success;
  }
  io.stdout.write(`${historyTable(records)}\n\n${HISTORY_LEGEND}\n`);
  return ExitCode.Success;
}
