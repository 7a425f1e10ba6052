/** `parallax-edge query` in a real process: tables, exact JSON, paging, a caret under a syntax error (exit 2), limits. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPAWNING, workspace, type Workspace } from './run-cli.js';

const ESTATE = `
import { entity, relationship, step } from 'parallax-edge';

export default {
  name: 'estate',
  steps: () => [step('all', 'All').build()],
  async executeStep(stepId, ctx) {
    ctx.emitEntity(entity('host', 'web-01').class('Host').property('region', 'us-east'));
    ctx.emitEntity(entity('host', 'web-02').class('Host').property('region', 'eu-west'));
    ctx.emitEntity(entity('host', 'evil').class('Host').displayName('web\\u001b[31m-03').property('region', 'us-east'));
    ctx.emitEntity(entity('edr_agent', 'a1').class('Agent'));
    ctx.emitRelationship(relationship('edr_agent', 'a1', 'PROTECTS', 'host', 'web-01'));
  },
};
`;

describe.concurrent('parallax-edge query runs PQL on the store', SPAWNING, () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = workspace();
    ws.write('estate.mjs', ESTATE);
    const run = await ws.cli('sync', 'estate.mjs', '--sync-id', 'e1');
    expect(run.code, run.stderr).toBe(0);
  }, SPAWNING.timeout);
  afterAll(() => ws.remove());

  it('prints the matches as a table, control characters escaped', async () => {
    const result = await ws.cli('query', 'find host that !protects edr_agent');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^type\s+key\s+class\s+display name/m);
    expect(result.stdout).toContain('web\\x1b[31m-03');
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout).toMatch(/^host\s+web-02\s+Host/m);
    expect(result.stdout).toContain('2 of 2 matches');
  });

  it('--json prints the whole result exactly; --limit and the printed --cursor page', async () => {
    const first = await ws.cli('query', 'FIND Host', '--limit', '2', '--json');
    expect(first.code, first.stderr).toBe(0);
    const page = JSON.parse(first.stdout) as { kind: string; count: number; entities: { displayName: string; entityKey: string }[]; nextCursor?: string };
    expect(page).toMatchObject({ kind: 'find', count: 3, groups: [], rows: [], path: null, layers: [] });
    expect(page.entities).toHaveLength(2);
    const second = await ws.cli('query', 'FIND Host', '--limit', '2', '--cursor', page.nextCursor!, '--json');
    const rest = JSON.parse(second.stdout) as typeof page;
    expect(rest.nextCursor).toBeUndefined();
    const all = [...page.entities, ...rest.entities];
    expect(all.map((e) => e.entityKey).sort()).toEqual(['evil', 'web-01', 'web-02']);
    expect(all.find((e) => e.entityKey === 'evil')!.displayName).toBe('web\u001b[31m-03');
  });

  it('GROUP BY, a path and a blast radius as tables', async () => {
    const groups = await ws.cli('query', 'FIND host GROUP BY region');
    expect(groups.stdout).toMatch(/^us-east\s+2$/m);
    expect(groups.stdout).toContain('3 entities in 2 groups');
    const path = await ws.cli('query', "FIND SHORTEST PATH FROM edr_agent TO host WITH _key = 'web-01'");
    expect(path.stdout).toMatch(/^\s*1\s+-PROTECTS->\s+host\s+web-01/m);
    const blast = await ws.cli('query', 'FIND BLAST RADIUS FROM edr_agent DEPTH 2', '--account', 'default');
    expect(blast.stdout).toContain('2 entities in 2 layers');
  });

  it('a syntax error: the message, the query with a caret under the position, exit code 2', async () => {
    const result = await ws.cli('query', 'FIND host THAT RUN x');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe("parallax-edge: line 1, col 16: expected a verb after THAT, found 'RUN'\n  FIND host THAT RUN x\n                 ^\n");
  });

  it('a query too large for the store (conditions past SQLite\'s expression depth) is a usage error (exit 2) that says so, one line, no stack', async () => {
    const conditions = Array.from({ length: 1100 }, (_, i) => `p${i} = 1`).join(' AND ');
    const result = await ws.cli('query', `FIND host WITH ${conditions}`);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^parallax-edge: .*too large.*use fewer conditions, values or steps\n$/);
  });

  it('an unknown type matches nothing (exit 0); no query, or a page over the results limit, is a usage error (exit 2)', async () => {
    const none = await ws.cli('query', 'FIND spaceship');
    expect(none).toMatchObject({ code: 0, stdout: '0 matches\n' });
    const usage = await ws.cli('query');
    expect(usage.code).toBe(2);
    const big = await ws.cli('query', 'FIND *', '--limit', '10001');
    expect(big.code).toBe(2);
  });
});
