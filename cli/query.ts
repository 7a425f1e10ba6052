/** `parallax-edge query "<pql>"`: a PQL query on the store, as tables or exact JSON. */
import { PqlError, QueryLimitError, QueryTooComplexError, query, type QueryResult } from '../src/index.js';
import { CliError, ExitCode, oneLine } from './errors.js';
import { entitiesTable, formatCount, jsonText, plural, printable, table } from './format.js';
import { openStore } from './store.js';
import type { CommandIO } from './sync.js';
import type { ReadCommon } from './queries.js';

export interface QueryCommand extends ReadCommon {
  readonly pql: string;
  readonly limit?: number;
  readonly cursor?: string;
}

/** The query's line at the error with a caret under the column (both printable, so the caret stays aligned). */
export function caretReport(pql: string, error: PqlError): string {
  const line = pql.split('\n')[error.line - 1] ?? '';
  const before = printable(line.slice(0, error.column - 1));
  return `  ${printable(line)}\n  ${' '.repeat(before.length)}^`;
}

const cell = (value: unknown): string => (value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));

export function resultText(result: QueryResult, command: QueryCommand): string {
  if (result.kind === 'path') {
    if (!result.path) return 'No path within the depth.';
    const { entities, relationships } = result.path;
    const rows = entities.map((e, i) => {
      const r = relationships[i - 1];
      const via = r ? (r.fromId === e.id ? `<-${r.verb}-` : `-${r.verb}->`) : '';
      return [String(i), via, e.entityType, e.entityKey, e.displayName, e.id];
    });
    return `${table([{ header: 'hop', align: 'right' }, { header: 'via' }, { header: 'type' }, { header: 'key' }, { header: 'display name' }, { header: 'id' }], rows)}\n\n${plural(relationships.length, 'hop', 'hops')}`;
  }
  if (result.kind === 'blast') {
    if (result.count === 0) return 'No start entity matches.';
    const rows = result.layers.flatMap((l) => l.entities.map((e) => [String(l.distance), e.entityType, e.entityKey, e.entityClass, e.displayName, e.id]));
    return `${table([{ header: 'distance', align: 'right' }, { header: 'type' }, { header: 'key' }, { header: 'class' }, { header: 'display name' }, { header: 'id' }], rows)}\n\n${plural(result.count, 'entity', 'entities')} in ${plural(result.layers.length, 'layer', 'layers')}`;
  }
  if (result.groups.length > 0) {
    const rows = result.groups.map((g) => [g.value === null ? '(none)' : cell(g.value), formatCount(g.count)]);
    return `${table([{ header: 'value' }, { header: 'count', align: 'right' }], rows)}\n\n${plural(result.count, 'entity', 'entities')} in ${plural(result.groups.length, 'group', 'groups')}`;
  }
  const more = result.nextCursor ? `; next page: --cursor ${result.nextCursor}` : '';
  if (result.rows.length > 0) {
    const names = Object.keys(result.rows[0]!);
    const body = table(names.map((header) => ({ header })), result.rows.map((r) => names.map((n) => cell(r[n]))));
    return `${body}\n\n${formatCount(result.rows.length)} of ${plural(result.count, 'match', 'matches')}${more}`;
  }
  if (result.entities.length > 0) return `${entitiesTable(result.entities)}\n\n${formatCount(result.entities.length)} of ${plural(result.count, 'match', 'matches')}${more}`;
  return command.cursor === undefined || result.count === 0 ? plural(result.count, 'match', 'matches') : `No more matches (of ${formatCount(result.count)}).`;
}

export async function queryCommand(command: QueryCommand, io: CommandIO): Promise<ExitCode> {
  const store = await openStore(command.store, { cwd: io.cwd, access: 'read' });
  let result: QueryResult;
  try {
    result = await query(store, command.pql, {
      ...(command.account !== undefined ? { accountId: command.account } : {}),
      ...(command.limit !== undefined ? { limit: command.limit } : {}),
      ...(command.cursor !== undefined ? { cursor: command.cursor } : {}),
    });
  } catch (error) {
    if (error instanceof PqlError) throw new CliError(error.message, ExitCode.Usage, caretReport(command.pql, error));
    if (error instanceof QueryLimitError) throw new CliError(`query stopped at its ${error.limit} limit: ${error.message}`, ExitCode.SyncFailed);
    // The query, not the store, is at fault: a usage error like a syntax error.
    if (error instanceof QueryTooComplexError) throw new CliError(oneLine(error), ExitCode.Usage);
    if (error instanceof RangeError) throw new CliError(oneLine(error));
    throw new CliError(`cannot query store ${command.store}: ${oneLine(error)}`, ExitCode.SyncFailed);
  } finally {
    await store.close().catch(() => undefined);
  }
  // Tables escape their cells; the rest is our own text.
  io.stdout.write(command.json ? jsonText(result) : `${resultText(result, command)}\n`);
  return ExitCode.Success;
}
