import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPAWNING, workspace, type CliResult, type Workspace } from './run-cli.js';

/**
 * Terminal controls a hostile string may carry: C0 (ESC, BEL, BS, CR...),
 * DEL, C1 (U+0080–U+009F, CSI U+009B), bidi overrides and isolates, and the
 * line / paragraph separators.
 */
const RAW_CONTROL = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;

/** Human output may hold line breaks of its own and no other control character. */
function expectNoRawControls(result: CliResult): void {
  for (const [name, text] of [['stdout', result.stdout], ['stderr', result.stderr]] as const) {
    const found = RAW_CONTROL.exec(text.replaceAll('\n', ''));
    expect(found, `${name} holds a raw U+${found?.[0].codePointAt(0)?.toString(16).padStart(4, '0')}: ${JSON.stringify(text)}`).toBeNull();
  }
}

// The hostile strings, as JavaScript source text (the module evaluates the escapes).
const H = {
  connector: String.raw`evil\x1b]0;pwned\x07`,
  hostsStep: String.raw`hosts\x1b[2J`,
  boomStep: String.raw`boom\u202e`,
  type: String.raw`host\x1b[1m`,
  key: String.raw`k\u202eevil\x9b2J`,
  displayName: String.raw`web\x1b[31m-1\x07\b\r\u2066`,
  klass: String.raw`Host\x1b[7m`,
  verb: String.raw`USES\x1b[4m`,
  property: String.raw`note\x1b[5m`,
  value: String.raw`v\x1b[0m\x9b\u2028`,
  error: String.raw`broke \x1b[31mred\x1b[0m\r\bover`,
};
/** The same strings as the CLI receives and stores them. */
const raw = Object.fromEntries(Object.entries(H).map(([name, source]) => [name, JSON.parse(`"${source.replaceAll(String.raw`\x`, String.raw`\u00`)}"`) as string])) as Record<keyof typeof H, string>;

const hostileModule = `
import { entity, relationship, step, ConnectorError } from 'parallax-edge';

export default function createConnector(config) {
  return {
    name: '${H.connector}',
    steps: () => [step('${H.hostsStep}', 'Hosts').build(), ...(config.fail ? [step('${H.boomStep}', 'Boom').build()] : [])],
    async executeStep(stepId, ctx) {
      if (stepId === '${H.boomStep}') throw ConnectorError.api(500, '/x', '${H.error}');
      ctx.emitEntity(entity('${H.type}', '${H.key}').class('${H.klass}').displayName('${H.displayName}').property('${H.property}', '${H.value}'));
      ctx.emitEntity(entity('${H.type}', 'plain').class('Host').displayName('plain'));
      ctx.emitRelationship(relationship('${H.type}', 'plain', '${H.verb}', '${H.type}', config.dangle ? '${H.key}-gone' : '${H.key}'));
    },
  };
}
`;

describe.concurrent('Defect 8: every human-readable CLI output escapes control characters; JSON output stays exact', SPAWNING, () => {
  let ws: Workspace;
  let synced: CliResult;
  beforeAll(async () => {
    ws = workspace();
    ws.write('hostile.mjs', hostileModule);
    ws.write('ok.json', '{}');
    synced = await ws.cli('sync', 'hostile.mjs', '--config', 'ok.json', '--sync-id', `s1${raw.error}`, '--account', `acme${raw.displayName}`);
    expect(synced.code, synced.stderr).toBe(0);
  }, SPAWNING.timeout);
  afterAll(() => ws.remove());

  it('sync: progress lines, warnings and the commit line show hostile ids and classes escaped', () => {
    expectNoRawControls(synced);
    expect(synced.stderr).toContain(String.raw`[hosts\x1b[2J] completed`);
    expect(synced.stderr).toContain(String.raw`connector "evil\x1b]0;pwned\x07"`);
    expect(synced.stderr).toContain(String.raw`"Host\x1b[7m" is not a known class`);
    expect(synced.stdout).toContain(String.raw`Committed sync s1broke \x1b[31mred\x1b[0m\r\x08over`);
    expect(synced.stdout).toContain(String.raw`account "acmeweb\x1b[31m-1\x07\x08\r\u2066"`);
  });

  it('sync with a failing step: the FAILED line, the failed-steps report and the exit-3 summary escape the error and the step id', async () => {
    ws.write('fail.json', JSON.stringify({ fail: true }));
    const result = await ws.cli('sync', 'hostile.mjs', '--config', 'fail.json', '--store', 'fail.db');
    expect(result.code).toBe(3);
    expectNoRawControls(result);
    expect(result.stderr).toContain(String.raw`[boom\u202e] FAILED after`);
    expect(result.stderr).toContain(String.raw`Api: broke \x1b[31mred\x1b[0m\r\x08over`);
    expect(result.stdout).toContain(String.raw`boom\u202e: Api: broke \x1b[31mred\x1b[0m\r\x08over`);
    expect(result.stderr).toContain(String.raw`1 step failed (boom\u202e)`);
  });

  it('error output: a refused commit naming a hostile relationship, and a hostile --cursor, are escaped on stderr', async () => {
    ws.write('dangle.json', JSON.stringify({ dangle: true }));
    const refused = await ws.cli('sync', 'hostile.mjs', '--config', 'dangle.json', '--store', 'dangle.db');
    expect(refused.code).toBe(1);
    expectNoRawControls(refused);
    expect(refused.stderr).toContain(String.raw`k\u202eevil\x9b2J-gone`);

    const cursor = await ws.cli('entities', '--type', raw.type, '--cursor', `c${raw.error}`);
    expect(cursor.code).toBe(2);
    expectNoRawControls(cursor);
    expect(cursor.stderr).toContain(String.raw`cursor "cbroke \x1b[31mred\x1b[0m\r\x08over"`);
  });

  it('entities: type, key, class, display name, connector and account are shown escaped', async () => {
    const result = await ws.cli('entities', '--type', raw.type);
    expect(result.code).toBe(0);
    expectNoRawControls(result);
    expect(result.stdout).toContain(String.raw`k\u202eevil\x9b2J`);
    expect(result.stdout).toContain(String.raw`web\x1b[31m-1\x07\x08\r\u2066`);
    expect(result.stdout).toContain(String.raw`Host\x1b[7m`);
    expect(result.stdout).toContain(String.raw`evil\x1b]0;pwned\x07`);
    // Escaped cells are measured as printed: the columns still line up.
    const lines = result.stdout.split('\n').filter((l) => l.startsWith('host'));
    expect(lines).toHaveLength(2);
    const idColumn = (line: string): number => line.search(/[0-9a-f]{32}$/);
    expect(idColumn(lines[0]!)).toBe(idColumn(lines[1]!));
  });

  it('stats and syncs: classes, verbs, the account and the sync id are shown escaped', async () => {
    const stats = await ws.cli('stats', '--account', raw.displayName.replace('web', 'acmeweb'));
    expect(stats.code).toBe(0);
    expectNoRawControls(stats);
    expect(stats.stdout).toMatch(/^Host\\x1b\[7m\s+1$/m);
    expect(stats.stdout).toMatch(/^USES\\x1b\[4m\s+1$/m);
    expect(stats.stdout).toContain(String.raw`account "acmeweb\x1b[31m-1\x07\x08\r\u2066"`);

    const syncs = await ws.cli('syncs');
    expect(syncs.code).toBe(0);
    expectNoRawControls(syncs);
    expect(syncs.stdout).toContain(String.raw`s1broke \x1b[31mred\x1b[0m\r\x08over`);
    expect(syncs.stdout).toContain(String.raw`evil\x1b]0;pwned\x07`);
  });

  it('query: RETURN column headers, the query\'s own property names, are shown escaped too', async () => {
    const result = await ws.cli('query', `FIND \`${raw.type}\` WITH _key = 'plain' RETURN _key, \`${raw.property}\``);
    expect(result.code, result.stderr).toBe(0);
    expectNoRawControls(result);
    expect(result.stdout).toMatch(/^_key\s+note\\x1b\[5m$/m);
    expect(result.stdout).toMatch(/^plain$/m);
  });

  it('--json output round-trips every hostile string exactly, and carries no raw C1 or bidi character either', async () => {
    const entities = await ws.cli('entities', '--type', raw.type, '--json');
    expect(entities.code).toBe(0);
    expectNoRawControls(entities);
    const page = JSON.parse(entities.stdout) as { items: { entityKey: string; entityType: string; entityClass: string; displayName: string; properties: Record<string, unknown>; connectorId: string; accountId: string }[] };
    const hostile = page.items.find((e) => e.entityKey === raw.key);
    expect(hostile).toMatchObject({
      entityType: raw.type,
      entityClass: raw.klass,
      displayName: raw.displayName,
      properties: { [raw.property]: raw.value },
      connectorId: raw.connector,
      accountId: `acme${raw.displayName}`,
    });

    const stats = await ws.cli('stats', '--json');
    expectNoRawControls(stats);
    expect(JSON.parse(stats.stdout)).toEqual({ entities: 2, relationships: 1, entitiesByClass: { Host: 1, [raw.klass]: 1 }, relationshipsByVerb: { [raw.verb]: 1 } });

    const syncs = await ws.cli('syncs', '--json');
    expectNoRawControls(syncs);
    expect((JSON.parse(syncs.stdout) as { syncId: string; connectorId: string }[]).map((r) => [r.syncId, r.connectorId])).toEqual([[`s1${raw.error}`, raw.connector]]);
  });
});
