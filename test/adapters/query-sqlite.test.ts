/** The query contract on SQLite, a real file, and the connection queries read through. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commitSync, query, runConnector } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { createSqliteStore } from 'parallax-edge/adapters/sqlite';
import { connectorOf, describeQueryContract, describeQueryModel, ent, rel, sync, syncInput } from 'parallax-edge/testing';

const dir = mkdtempSync(join(tmpdir(), 'parallax-query-'));
let files = 0;
const freshPath = (): string => join(dir, `c-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeQueryContract('sqlite (file)', () => createSqliteStore(join(dir, `q-${++files}.db`)));
describeQueryContract('sqlite (file, queries on the store connection)', () => createSqliteStore({ path: join(dir, `q-${++files}.db`), queryMmapBytes: 0 }));
describeQueryContract("sqlite (':memory:')", () => createSqliteStore(':memory:'));

describeQueryModel('sqlite (file)', () => createSqliteStore(join(dir, `m-${++files}.db`)), { numRuns: 60 });

const hosts = (syncId: string, keys: readonly string[]) =>
  syncInput({
    syncId,
    connectorId: 'inventory',
    entities: [ent('role', 'admin'), ...keys.map((k) => ent('host', k, { properties: { os: 'linux' } }))],
    relationships: keys.map((k) => rel(`host:${k}`, 'USES', 'role:admin')),
  });
const keysOf = async (store: Parameters<typeof query>[0], pql: string): Promise<string[]> =>
  (await query(store, pql)).entities.map((e) => e.entityKey).sort();

describe('sqlite: steps in either direction', () => {
  it('an undirected step writes the rest of the chain once: 24 of them (2^24 copies when each step repeated it) answer as the memory store does, on type-only targets and on targets with a WITH', async () => {
    // A ring of hosts whose CONNECTS alternate direction, so each step needs both; one host with no CONNECTS.
    const ring = Array.from({ length: 6 }, (_, i) => `h${i}`);
    const input = syncInput({
      syncId: 's1',
      entities: [...ring, 'lone'].map((k, i) => ent('host', k, { properties: { os: i % 3 === 0 ? 'bsd' : 'linux' } })).concat(ent('role', 'admin')),
      relationships: ring
        .map((k, i) => (i % 2 === 0 ? rel(`host:${k}`, 'CONNECTS', `host:${ring[(i + 1) % 6]}`) : rel(`host:${ring[(i + 1) % 6]}`, 'CONNECTS', `host:${k}`)))
        .concat(rel('host:lone', 'USES', 'role:admin')),
    });
    const store = createSqliteStore(':memory:');
    const reference = createMemoryStore();
    await commitSync(store, input);
    await commitSync(reference, input);
    for (const pql of [
      `FIND host${' THAT CONNECTS host'.repeat(24)}`,
      `FIND host${" THAT CONNECTS host WITH os = 'linux'".repeat(24)}`,
      `FIND host${' THAT CONNECTS host'.repeat(23)} THAT !CONNECTS host WITH os = 'none'`,
    ]) {
      const [got, want] = await Promise.all([query(store, pql), query(reference, pql)]);
      expect(got, pql.slice(0, 60)).toEqual(want);
      expect(got.count, pql.slice(0, 60)).toBeGreaterThan(0);
      expect(got.entities.map((e) => e.entityKey)).not.toContain('lone');
    }
    await store.close();
  });
});

describe('sqlite: IN lists', () => {
  it('an IN list of 5,000 values (past SQLite\'s expression depth as an OR of equalities) answers as the memory store does, on a built-in field and on properties of every type', async () => {
    const input = syncInput({
      syncId: 's1',
      entities: [
        ent('host', 'k-17', { properties: { tag: 'v-3', n: 4, flag: true } }),
        ent('host', 'k-4999', { properties: { tag: ['x', 'v-4998'], n: 2.5 } }),
        ent('host', 'other', { properties: { tag: 'nope', n: '4', flag: false } }),
      ],
    });
    const store = createSqliteStore(':memory:');
    const reference = createMemoryStore();
    await commitSync(store, input);
    await commitSync(reference, input);
    const list = (f: (i: number) => string) => Array.from({ length: 5000 }, (_, i) => f(i)).join(', ');
    for (const pql of [
      `FIND host WITH _key IN (${list((i) => `'k-${i}'`)})`,
      `FIND host WITH tag IN (${list((i) => `'v-${i}'`)})`,
      `FIND host WITH n IN (${list((i) => String(i))}, 2.5)`,
      `FIND host WITH flag IN (true, ${list((i) => `'f-${i}'`)})`,
      `FIND host WITH NOT tag IN (${list((i) => `'v-${i}'`)})`,
    ]) {
      const [got, want] = await Promise.all([query(store, pql), query(reference, pql)]);
      expect(got, pql.slice(0, 40)).toEqual(want);
      expect(got.count, pql.slice(0, 40)).toBeGreaterThan(0);
    }
    await store.close();
  });
});

describe('sqlite: the query connection (queryMmapBytes)', () => {
  it('INV-C01: a query sees every commit as soon as it returns, never a sync still staging, and never a stale snapshot', async () => {
    const store = createSqliteStore(freshPath());
    await sync(store, { syncId: 's1', connectorId: 'inventory', entities: [ent('host', 'a')] });
    const pql = "FIND host WITH os = 'linux' THAT USES role";
    expect(await keysOf(store, pql)).toEqual([]);
    await commitSync(store, hosts('s2', ['a', 'b']));
    expect(await keysOf(store, pql)).toEqual(['a', 'b']);
    // A streamed run stages its rows (TEMP tables of the store's connection) and is not committed yet.
    const staged = await runConnector(connectorOf(hosts('s3', ['a', 'b', 'c'])), { accountId: 'acme', store });
    expect(await keysOf(store, pql)).toEqual(['a', 'b']);
    await commitSync(store, staged);
    expect(await keysOf(store, pql)).toEqual(['a', 'b', 'c']);
    await commitSync(store, hosts('s4', ['c']));
    expect(await keysOf(store, pql)).toEqual(['c']);
    await store.close();
  });

  it('a query sees the commits of another handle on the file, and a read-only store answers queries too', async () => {
    const path = freshPath();
    const writer = createSqliteStore(path);
    await commitSync(writer, hosts('s1', ['a']));
    const reader = createSqliteStore({ path, readonly: true });
    const pql = 'FIND host THAT USES role WITH _key = "admin"'.replace(/"/g, "'");
    expect(await keysOf(reader, pql)).toEqual(['a']);
    await commitSync(writer, hosts('s2', ['a', 'z']));
    expect(await keysOf(reader, pql)).toEqual(['a', 'z']);
    await Promise.all([reader.close(), writer.close()]);
  });

  it('a closed store refuses a query with StoreFailure, whether or not a query opened its connection', async () => {
    for (const queried of [false, true]) {
      const store = createSqliteStore(freshPath());
      await commitSync(store, hosts('s1', ['a']));
      if (queried) expect(await keysOf(store, 'FIND host')).toEqual(['a']);
      await store.close();
      await expect(query(store, 'FIND host')).rejects.toMatchObject({ code: 'StoreFailure' });
    }
  });
});

describe('sqlite: hostile property names in queries', () => {
  it('a property name is matched exactly, whatever it holds (backslash, NUL, control, \\u-like text): the same answer as memory, never a raw SQLite error', async () => {
    const properties = { 'a\\b': 1, 'a\\': 2, 'a\u0000b': 3, 'a\\u0062': 4, ab: 5, 'new\nline': 6, 'esc\u001b[2J': 7 };
    const input = syncInput({ syncId: 's1', entities: [ent('host', 'h1', { properties }), ent('host', 'h2', { properties: { ab: 5 } })] });
    const store = createSqliteStore(':memory:');
    const reference = createMemoryStore();
    await commitSync(store, input);
    await commitSync(reference, input);
    for (const [name, value] of Object.entries(properties)) {
      for (const pql of [`FIND host WITH \`${name}\` = ${value}`, `FIND host GROUP BY \`${name}\``, `FIND host RETURN \`${name}\``]) {
        const [got, want] = await Promise.all([query(store, pql), query(reference, pql)]);
        expect(got, JSON.stringify(pql)).toEqual(want);
      }
      expect((await query(store, `FIND host WITH \`${name}\` = ${value}`)).entities.map((e) => e.entityKey), JSON.stringify(name)).toEqual(name === 'ab' ? ['h1', 'h2'] : ['h1']);
    }
  });
});
