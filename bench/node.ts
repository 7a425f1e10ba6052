/**
 * The Node runner: the phases against the SQLite (or memory) store in
 * process, with the raw better-sqlite3 insert as baseline, in a fresh
 * temporary directory (a fresh store file per repetition).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { GraphStore } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { MemoryProbe } from './memory.js';
import { runPhases, storeClock, type PhaseSettings } from './phases.js';
import { RAW_BASELINE, RAW_SCHEMA_BASELINE, openRawBaseline, openRawSchemaBaseline } from './raw-sqlite.js';
import type { ScaleResult } from './report.js';

export const NODE_ADAPTERS = ['sqlite', 'memory'] as const;
export type NodeAdapter = (typeof NODE_ADAPTERS)[number];

type Transaction = ((...args: unknown[]) => unknown) & Record<'deferred' | 'immediate' | 'exclusive', (...args: unknown[]) => unknown>;

/**
 * better-sqlite3 runs every statement of the store inside a transaction
 * function; timing those on the store clock catches the store's work that
 * runs after an await (a commit's second batch), which the session
 * wrapper's synchronous timing would miss. Nested timings count once.
 */
function timeSqliteTransactions(): void {
  const proto = Database.prototype as unknown as { transaction: (fn: unknown) => Transaction; __benchTimed?: boolean };
  if (proto.__benchTimed) return;
  proto.__benchTimed = true;
  const original = proto.transaction;
  proto.transaction = function (this: unknown, fn: unknown): Transaction {
    const inner = original.call(this, fn);
    const timed = ((...args: unknown[]) => storeClock.time(() => inner(...args))) as Transaction;
    for (const mode of ['deferred', 'immediate', 'exclusive'] as const) timed[mode] = (...args: unknown[]) => storeClock.time(() => inner[mode](...args));
    return timed;
  };
}

async function openStore(adapter: NodeAdapter, path: string): Promise<GraphStore> {
  switch (adapter) {
    case 'memory':
      return createMemoryStore();
    case 'sqlite': {
      const { createSqliteStore } = await import('parallax-edge/adapters/sqlite');
      return createSqliteStore(path);
    }
  }
}

export async function runNodeScale(adapter: NodeAdapter, settings: PhaseSettings, log: (line: string) => void): Promise<ScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), `parallax-bench-${adapter}-`));
  timeSqliteTransactions();
  const probe = new MemoryProbe({ sampling: false });
  const raw = openRawBaseline(join(dir, 'raw.db'));
  const rawSchema = adapter === 'sqlite' ? await openRawSchemaBaseline(join(dir, 'raw-schema.db')) : undefined;
  let stores = 0;
  try {
    const result = await runPhases(settings, {
      openStore: () => openStore(adapter, join(dir, `graph-${++stores}.db`)),
      measure: probe.measure,
      rawInsert: (rows) => raw.insert(rows),
      rawReset: () => raw.reset(),
      ...(rawSchema ? { rawSchema } : {}),
      baseline: RAW_BASELINE,
      runtime: `node ${process.version}`,
      storeTiming: 'sync',
      settle: () => probe.collect(),
      log,
    });
    const notes = [
      `memory: ${probe.method}`,
      "store: time inside the store's calls (openSync and the session's) and inside better-sqlite3 transactions, counted once; the rest of wall is the connector, validation, ids, hashing and units (core)",
    ];
    if (adapter === 'memory') notes.push('memory is the in-process reference store: it keeps the graph on the JS heap');
    if (adapter === 'sqlite') notes.push(`raw insert, store schema: ${RAW_SCHEMA_BASELINE}`);
    if (adapter === 'sqlite') notes.push(`store: a fresh file per repetition in ${dir} (removed afterwards), WAL; staging in TEMP tables`);
    return { ...result, notes };
  } finally {
    raw.close();
    rawSchema?.close();
    await probe.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
