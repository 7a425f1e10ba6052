/** Plain-text tables and numbers for the CLI's output. No colors, no escape sequences. */
import type { GraphCounts, StepReport, StoredEntity, SyncRecord, SyncStats } from '../src/index.js';

/**
 * Characters a terminal may act on instead of printing: C0 controls, DEL and
 * C1 controls (ESC and CSI start sequences that move the cursor, retitle the
 * window or hide text), bidi marks, embeddings, overrides and isolates and
 * line and paragraph separators (they reorder or break what is shown), and
 * lone surrogates (not printable at all).
 */
const REORDERING = String.raw`\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029`;
const UNPRINTABLE = new RegExp(`[\\p{Cc}\\p{Cs}${REORDERING}]`, 'gu');
/** What of {@link UNPRINTABLE} JSON.stringify leaves raw (it escapes C0 controls and lone surrogates itself). */
const RAW_IN_JSON = new RegExp(`[\\u007f-\\u009f${REORDERING}]`, 'g');
const NAMED: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeCharacter(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * `text` safe to print on a terminal: every control character shown as a
 * visible escape (`\x1b`, `\x9b`, `\u202e`, `\n`), everything else as it is.
 * Every string of human-readable output that did not come from the CLI itself
 * (stored data, connector output, error messages, arguments) goes through
 * this; `--json` output keeps the exact values ({@link jsonText}).
 *
 * @example
 * printable('web\u001b[31m-1'); // 'web\\x1b[31m-1'
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escapeCharacter);
}

/**
 * `value` as indented JSON and a newline, with the characters that JSON
 * leaves raw but a terminal acts on (DEL, C1, bidi controls, line separators)
 * written as `\u` escapes: it parses back to exactly the same value.
 */
export function jsonText(value: unknown): string {
  // These characters can only occur inside JSON strings, where a \u escape means the same.
  return `${JSON.stringify(value, null, 2).replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

export type Align = 'left' | 'right';

export interface Column {
  readonly header: string;
  readonly align?: Align;
}

/** `1,234` */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `1 entity`, `2 entities`: the count with thousands separators and the right noun. */
export function plural(n: number, one: string, many: string): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** A whole number of milliseconds (`1234 ms`), or seconds with one decimal for live timers (`1.2s`). */
export function formatDuration(ms: number, live = false): string {
  const safe = Math.max(0, ms);
  return live ? `${(safe / 1000).toFixed(1)}s` : `${Math.round(safe)} ms`;
}

/** Columns padded to their widest cell, two spaces apart, no trailing spaces; headers and cells are {@link printable}. */
export function table(columns: readonly Column[], cells: readonly (readonly string[])[]): string {
  const headers = columns.map((column) => printable(column.header));
  const rows = cells.map((row) => row.map(printable));
  const widths = columns.map((_, i) => Math.max(headers[i]!.length, ...rows.map((row) => (row[i] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    columns
      .map((column, i) => {
        const cell = cells[i] ?? '';
        return column.align === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [render(headers), ...rows.map(render)].join('\n');
}

/** The stats of one commit: created / updated / unchanged / deleted / kept, and cascaded deletions. */
export function syncStatsTable(stats: SyncStats): string {
  const n = (value: number): string => formatCount(value);
  return table(
    [
      { header: '' },
      { header: 'created', align: 'right' },
      { header: 'updated', align: 'right' },
      { header: 'unchanged', align: 'right' },
      { header: 'deleted', align: 'right' },
      { header: 'kept', align: 'right' },
      { header: 'cascaded', align: 'right' },
    ],
    [
      ['entities', n(stats.entitiesCreated), n(stats.entitiesUpdated), n(stats.entitiesUnchanged), n(stats.entitiesDeleted), n(stats.entitiesKept), '-'],
      [
        'relationships',
        n(stats.relationshipsCreated),
        n(stats.relationshipsUpdated),
        n(stats.relationshipsUnchanged),
        n(stats.relationshipsDeleted),
        n(stats.relationshipsKept),
        n(stats.relationshipsCascaded),
      ],
    ],
  );
}

/**
 * Failed steps with their errors, and steps that ran without a failed
 * dependency's data (their stored rows are kept too). Empty when all passed.
 */
export function failedStepsReport(steps: readonly StepReport[]): string {
  const failed = steps.filter((s) => s.status === 'failed');
  const downstream = steps.filter((s) => s.status === 'completed' && s.upstreamFailed.length > 0);
  const lines: string[] = [];
  if (failed.length > 0) {
    lines.push(`Failed steps (${failed.length}):`);
    for (const s of failed) {
      const error = s.error ? `${s.error.kind}: ${s.error.message}` : 'failed';
      lines.push(`  ${s.stepId}: ${error.replace(/\s*\n\s*/g, ' ')}`);
    }
  }
  if (downstream.length > 0) {
    lines.push('Ran without data of a failed step (their stored rows were kept):');
    for (const s of downstream) lines.push(`  ${s.stepId}: after ${s.upstreamFailed.join(', ')}`);
  }
  return lines.map(printable).join('\n');
}

/** Entity counts by class and relationship counts by verb, largest first. */
export function countsReport(counts: GraphCounts): string {
  const sorted = (record: Readonly<Record<string, number>>): [string, number][] =>
    Object.entries(record).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
  const parts = [`${plural(counts.entities, 'entity', 'entities')}, ${plural(counts.relationships, 'relationship', 'relationships')}`];
  const classes = sorted(counts.entitiesByClass);
  if (classes.length > 0) {
    parts.push(
      table(
        [{ header: 'class' }, { header: 'entities', align: 'right' }],
        classes.map(([name, count]) => [name, formatCount(count)]),
      ),
    );
  }
  const verbs = sorted(counts.relationshipsByVerb);
  if (verbs.length > 0) {
    parts.push(
      table(
        [{ header: 'verb' }, { header: 'relationships', align: 'right' }],
        verbs.map(([name, count]) => [name, formatCount(count)]),
      ),
    );
  }
  return parts.join('\n\n');
}

export function entitiesTable(items: readonly StoredEntity[]): string {
  return table(
    [{ header: 'type' }, { header: 'key' }, { header: 'class' }, { header: 'display name' }, { header: 'connector' }, { header: 'account' }, { header: 'id' }],
    items.map((e) => [e.entityType, e.entityKey, e.entityClass, e.displayName, e.connectorId, e.accountId, e.id]),
  );
}

/** `+3 ~1 =10 -2 k0`: created, updated, unchanged, deleted, kept. */
function compactStats(created: number, updated: number, unchanged: number, deleted: number, kept: number): string {
  return `+${created} ~${updated} =${unchanged} -${deleted} k${kept}`;
}

export function historyTable(records: readonly SyncRecord[]): string {
  return table(
    [
      { header: 'committed' },
      { header: 'connector' },
      { header: 'account' },
      { header: 'sync id' },
      { header: 'entities' },
      { header: 'relationships' },
      { header: 'failed steps' },
    ],
    records.map((r) => {
      const s = r.stats;
      const cascaded = s.relationshipsCascaded > 0 ? ` (${s.relationshipsCascaded} cascaded)` : '';
      return [
        r.committedAt,
        r.connectorId,
        r.accountId,
        r.syncId,
        compactStats(s.entitiesCreated, s.entitiesUpdated, s.entitiesUnchanged, s.entitiesDeleted, s.entitiesKept),
        compactStats(s.relationshipsCreated, s.relationshipsUpdated, s.relationshipsUnchanged, s.relationshipsDeleted, s.relationshipsKept) + cascaded,
        r.failedSteps.join(', ') || '-',
      ];
    }),
  );
}

export const HISTORY_LEGEND = '+ created, ~ updated, = unchanged, - deleted (cascaded deletions included), k kept after a failed step';
