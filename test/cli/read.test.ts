import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modules, SPAWNING, workspace, type Workspace } from './run-cli.js';

describe.concurrent('parallax-edge stats, entities and syncs read the store the syncs wrote', SPAWNING, () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = workspace();
    ws.write('directory.ts', modules.tsFactory);
    ws.write('hosts.mjs', modules.jsNamedClass);
    ws.write('ok.json', JSON.stringify({ users: ['ada', 'bob', 'cy'] }));
    ws.write('fail.json', JSON.stringify({ users: [], failUsers: true }));
    ws.write('hosts.json', JSON.stringify({ count: 2 }));
    const runs = [
      await ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--sync-id', 'dir-1'),
      await ws.cli('sync', 'hosts.mjs', '--config', 'hosts.json', '--sync-id', 'hosts-1', '--account', 'ops'),
      await ws.cli('sync', 'directory.ts', '--config', 'fail.json', '--sync-id', 'dir-2'),
    ];
    expect(runs.map((r) => r.code)).toEqual([0, 0, 3]);
  }, SPAWNING.timeout);
  afterAll(() => ws.remove());

  it('stats counts entities by class and relationships by verb, across all accounts unless --account is given', async () => {
    const all = await ws.cli('stats');
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('Store ./data/parallax.db, all accounts: 7 entities, 3 relationships');
    expect(all.stdout).toMatch(/^User\s+3$/m);
    expect(all.stdout).toMatch(/^Host\s+2$/m);
    expect(all.stdout).toMatch(/^HAS\s+3$/m);
    const ops = await ws.cli('stats', '--account', 'ops', '--json');
    expect(JSON.parse(ops.stdout)).toEqual({ entities: 2, relationships: 0, entitiesByClass: { Host: 2 }, relationshipsByVerb: {} });
  });

  it('entities --type lists a page as a table, and the printed --cursor fetches the next page', async () => {
    const first = await ws.cli('entities', '--type', 'user', '--limit', '2');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^type\s+key\s+class\s+display name\s+connector\s+account\s+id$/m);
    const cursor = /next page: --cursor (\S+)/.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();
    const second = await ws.cli('entities', '--type', 'user', '--limit', '2', '--cursor', cursor!);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('next page');
    const keys = (out: string): string[] => [...out.matchAll(/^user\s+(\S+)\s+User/gm)].map((m) => m[1]!);
    expect([...keys(first.stdout), ...keys(second.stdout)].sort()).toEqual(['ada', 'bob', 'cy']);
  });

  it('entities --class --json prints the page as JSON', async () => {
    const result = await ws.cli('entities', '--class', 'Host', '--json');
    expect(result.code).toBe(0);
    const page = JSON.parse(result.stdout) as { items: { entityKey: string; accountId: string }[]; nextCursor?: string };
    expect(page.items.map((e) => e.entityKey).sort()).toEqual(['h0', 'h1']);
    expect(page.items.every((e) => e.accountId === 'ops')).toBe(true);
    expect(page.nextCursor).toBeUndefined();
  });

  it('entities without --type or --class, with a bad --limit, or with a foreign cursor is a usage error (exit 2)', async () => {
    const none = await ws.cli('entities');
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('parallax-edge: entities needs --type T or --class C (or both)\n');
    const limit = await ws.cli('entities', '--type', 'user', '--limit', '0');
    expect(limit.code).toBe(2);
    expect(limit.stderr).toBe('parallax-edge: --limit must be an integer from 1 to 1000, got "0"\n');
    const cursor = await ws.cli('entities', '--type', 'user', '--cursor', 'not-a-cursor');
    expect(cursor.code).toBe(2);
    expect(cursor.stderr).toBe('parallax-edge: cursor "not-a-cursor" is not a cursor this store issued\n');
  });

  it('syncs lists the history newest first with each sync\'s stats and failed steps; --connector and --limit filter it', async () => {
    const all = await ws.cli('syncs');
    expect(all.code).toBe(0);
    const rows = all.stdout.split('\n').filter((l) => /^\d{4}-/.test(l));
    expect(rows.map((r) => r.split(/\s+/)[3])).toEqual(['dir-2', 'hosts-1', 'dir-1']);
    expect(rows[0]).toMatch(/directory\s+default\s+dir-2\s+\+0 ~0 =2 -0 k3\s+\+0 ~0 =0 -0 k3\s+users$/);
    expect(rows[2]).toMatch(/dir-1\s+\+5 ~0 =0 -0 k0\s+\+3 ~0 =0 -0 k0\s+-$/);
    expect(all.stdout).toContain('+ created, ~ updated, = unchanged, - deleted');

    const hosts = await ws.cli('syncs', '--connector', 'hosts', '--json');
    const records = JSON.parse(hosts.stdout) as { syncId: string; stats: { entitiesCreated: number } }[];
    expect(records.map((r) => [r.syncId, r.stats.entitiesCreated])).toEqual([['hosts-1', 2]]);

    const latest = await ws.cli('syncs', '--limit', '1', '--json');
    expect((JSON.parse(latest.stdout) as { syncId: string }[]).map((r) => r.syncId)).toEqual(['dir-2']);
  });
});
