/**
 * The Node runner: the phases against the memory or the SQLite store, with
 * the raw better-sqlite3 insert as baseline, in a fresh temporary directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GraphStore } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { MemoryProbe } from './memory.js';
import { runPhases, type PhaseSettings } from './phases.js';
import { RAW_BASELINE, SCHEMA_BASELINE, openRawBaseline, openSchemaBaseline } from './raw-sqlite.js';
import type { ScaleResult } from './report.js';

export const NODE_ADAPTERS = ['sqlite', 'memory'] as const;
export type NodeAdapter = (typeof NODE_ADAPTERS)[number];

async function openStore(adapter: NodeAdapter, dir: string): Promise<GraphStore> {
  switch (adapter) {
    case 'memory':
      return createMemoryStore();
    case 'sqlite': {
      const { createSqliteStore } = await import('parallax-edge/adapters/sqlite');
      return createSqliteStore(join(dir, 'graph.db'));
    }
  }
}

export async function runNodeScale(adapter: NodeAdapter, settings: PhaseSettings, log: (line: string) => void): Promise<ScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), `parallax-bench-${adapter}-`));
  const probe = new MemoryProbe();
  const store = await openStore(adapter, dir);
  const raw = openRawBaseline(join(dir, 'raw.db'));
  const rawSchema = openSchemaBaseline(join(dir, 'raw-schema.db'));
  try {
    const result = await runPhases(settings, {
      store,
      measure: probe.measure,
      rawInsert: (batch) => raw.insert(batch),
      baseline: RAW_BASELINE,
      rawInsertSchema: (batch) => rawSchema.insert(batch),
      schemaBaseline: SCHEMA_BASELINE,
      runtime: `node ${process.version}`,
      settle: () => probe.collect(),
      log,
    });
    const notes = [`memory: ${probe.method}`];
    if (adapter === 'memory') notes.push('memory is the in-process reference store: it keeps the graph on the JS heap');
    if (adapter === 'sqlite') notes.push(`store: ${join(dir, 'graph.db')} (removed afterwards), WAL`);
    return { ...result, notes };
  } finally {
    raw.close();
    rawSchema.close();
    await store.close();
    await probe.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
