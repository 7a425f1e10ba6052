/**
 * The query contract (issue 13): every store answers PQL exactly as the
 * memory reference does. A fixed estate graph (two accounts) is synced into
 * the store under test and into a memory store; every example of the issue,
 * and queries for each semantic rule, must give equal answers, and the
 * examples the answers the issue means. Runtime-neutral (vitest and
 * parallax-edge only), like contract.ts.
 *
 * @example
 * describeQueryContract('sqlite (file)', () => createSqliteStore(path));
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PqlError, QueryLimitError, query, type GraphStore, type QueryOptions, type QueryResult } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { ent, rel, sync, type OpenStore } from './contract.js';

const E = (type: string, key: string, entityClass: string, properties: Record<string, unknown> = {}) =>
  ent(type, key, { entityClass, properties: properties as never, displayName: `${key}` });

/** The estate: users, roles, policies, buckets, hosts, agents, a secret; verbs in both directions. */
export const ESTATE = {
  entities: [
    E('user', 'alice', 'User', { email: 'alice@corp.com', groups: ['eng', 'ops'] }),
    E('user', 'bob', 'User', { email: 'bob@corp.com', groups: ['eng'] }),
    E('user', 'carol', 'User', { email: 'carol@other.org', groups: [] }),
    E('user', 'dave', 'User', { email: null }),
    E('role', 'admin_role', 'Role', { admin: true, name: 'admin' }),
    E('role', 'ro_role', 'Role', { admin: false, name: 'read_only' }),
    E('policy', 'p_s3', 'Policy', { name: 'S3 full' }),
    E('aws_s3_bucket', 'b1', 'DataStore', { tags: ['prod', 'pii'], public: true, size: 10 }),
    E('aws_s3_bucket', 'b2', 'DataStore', { tags: [], public: false, size: 2.5 }),
    E('host', 'web-01', 'Host', { os: 'linux', state: 'running', region: 'us-east', cpu: 4 }),
    E('host', 'web-02', 'Host', { os: 'linux', state: 'running', region: 'eu-west', cpu: 8 }),
    E('host', 'db-01', 'Host', { os: 'windows', state: 'stopped', region: 'us-east', cpu: 16 }),
    E('host', 'h4', 'Host', { state: 'running', cpu: '4' }),
    E('ec2_instance', 'i-1', 'Host', { os: 'linux', state: 'running', region: 'us-east' }),
    E('edr_agent', 'a1', 'Agent', { version: '1.0' }),
    E('edr_agent', 'a2', 'Agent', { version: '2.0' }),
    E('aws_iam_role', 'r_admin', 'Role', { admin: true }),
    E('aws_iam_role', 'r_ro', 'Role', { admin: false }),
    E('secret', 'prod-db-password', 'Secret', { name: 'prod-db-password' }),
    E('application', 'app1', 'Application', { name: '100%_sure' }),
  ],
  relationships: [
    rel('edr_agent:a1', 'PROTECTS', 'host:web-01'),
    rel('edr_agent:a2', 'PROTECTS', 'host:db-01'),
    rel('host:web-01', 'USES', 'aws_iam_role:r_admin'),
    rel('host:web-02', 'USES', 'aws_iam_role:r_ro'),
    rel('user:alice', 'ASSIGNED', 'role:admin_role'),
    rel('user:bob', 'ASSIGNED', 'role:ro_role'),
    rel('role:admin_role', 'ALLOWS', 'policy:p_s3'),
    rel('policy:p_s3', 'USES', 'aws_s3_bucket:b1'),
    rel('role:admin_role', 'MANAGES', 'host:web-01'),
    rel('host:web-01', 'CONNECTS', 'host:db-01'),
    rel('host:db-01', 'HAS', 'secret:prod-db-password'),
    rel('host:web-01', 'RUNS', 'application:app1'),
    rel('application:app1', 'READS', 'aws_s3_bucket:b1'),
    rel('application:app1', 'WRITES', 'aws_s3_bucket:b2'),
    rel('user:carol', 'TRUSTS', 'user:carol'),
    rel('host:web-02', 'CONNECTS', 'host:web-01'),
  ],
};
const GLOBEX = {
  entities: [E('host', 'web-01', 'Host', { os: 'linux', state: 'running', region: 'us-east' }), E('edr_agent', 'g1', 'Agent')],
  relationships: [rel('edr_agent:g1', 'SCANS', 'host:web-01')],
};

async function load(store: GraphStore): Promise<void> {
  await sync(store, { syncId: 's1', ...ESTATE });
  await sync(store, { syncId: 's2', accountId: 'globex', ...GLOBEX });
}

/** The examples and queries for each rule of the semantics. */
export const CONTRACT_QUERIES: readonly string[] = [
  'FIND host THAT !PROTECTS edr_agent',
  "FIND host WITH os = 'linux' THAT USES aws_iam_role WITH admin = true",
  'FIND user THAT ASSIGNED role THAT ALLOWS policy THAT USES aws_s3_bucket',
  "FIND user WITH email LIKE '%@corp.com'",
  "FIND host WITH state = 'running' GROUP BY region",
  'FIND user THAT ASSIGNED role WITH admin = true RETURN COUNT',
  "FIND SHORTEST PATH FROM user WITH email = 'alice@corp.com' TO secret WITH name = 'prod-db-password'",
  "FIND BLAST RADIUS FROM host WITH _key = 'web-01' DEPTH 4",
  // Direction.
  'FIND host THAT !PROTECTS -> edr_agent',
  'FIND host THAT !PROTECTS <- edr_agent',
  'FIND host THAT CONNECTS -> host',
  'FIND host THAT CONNECTS <- host',
  'FIND user THAT TRUSTS user',
  // Class names as filters, `*`, RELATES TO, built-ins.
  'FIND Host',
  'FIND Host WITH _type = \'ec2_instance\'',
  'FIND * WITH _class = \'Role\' RETURN _key, admin, _type',
  'FIND aws_s3_bucket THAT RELATES TO *',
  'FIND * THAT RUNS application THAT READS aws_s3_bucket',
  'FIND application THAT WRITES aws_s3_bucket THAT !READS application',
  "FIND * WITH _display_name = 'alice' OR _key = 'b2' OR _connector = 'nope' OR _account = 'globex'",
  // Values: arrays contain, missing and null, types strict, comparisons.
  "FIND user WITH groups = 'eng'",
  "FIND user WITH groups != 'eng'",
  'FIND user WITH email != null',
  'FIND user WITH email = null',
  'FIND user WITH email EXISTS',
  'FIND user WITH NOT email EXISTS',
  'FIND host WITH cpu = 4',
  "FIND host WITH cpu = '4'",
  'FIND host WITH cpu >= 4 AND cpu < 16',
  "FIND host WITH os > 'l'",
  'FIND host WITH os != \'linux\'',
  "FIND host WITH region IN ('us-east', 'nowhere') OR os IN ('windows')",
  'FIND aws_s3_bucket WITH public = true',
  'FIND aws_s3_bucket WITH size > 2 AND size <= 10',
  "FIND aws_s3_bucket WITH tags LIKE 'p_i'",
  "FIND application WITH name LIKE '100\\%\\_%'",
  "FIND application WITH name LIKE '100!%!_s%' ESCAPE '!'",
  "FIND user WITH email LIKE 'ALICE%'",
  'FIND host WITH NOT (os = \'linux\' OR cpu > 10)',
  // Unknown types and properties match nothing; errors are not thrown.
  'FIND spaceship',
  "FIND host WITH colour = 'red'",
  "FIND host WITH colour != 'red'",
  // Outputs.
  'FIND user GROUP BY groups',
  'FIND host GROUP BY cpu',
  'FIND aws_s3_bucket GROUP BY public',
  'FIND host GROUP BY _class LIMIT 1',
  'FIND host LIMIT 2',
  'FIND host RETURN COUNT LIMIT 3',
  'FIND host RETURN os, nothing',
  // Paths and blast radius.
  'FIND SHORTEST PATH FROM user TO aws_s3_bucket',
  'FIND SHORTEST PATH FROM Host TO secret DEPTH 1',
  'FIND SHORTEST PATH FROM user WITH _key = \'carol\' TO secret',
  'FIND SHORTEST PATH FROM host TO host',
  'FIND BLAST RADIUS FROM edr_agent DEPTH 2',
  'FIND BLAST RADIUS FROM user DEPTH 0',
  'FIND BLAST RADIUS FROM spaceship',
];

const keys = (r: QueryResult): string[] => r.entities.map((e) => `${e.accountId}/${e.entityKey}`);

export function describeQueryContract(name: string, open: OpenStore): void {
  describe(`${name}: the query contract (issue 13)`, () => {
    let store: GraphStore;
    let reference: GraphStore;
    beforeAll(async () => {
      store = await open();
      reference = createMemoryStore();
      await load(store);
      await load(reference);
    });
    const both = async (pql: string, options: QueryOptions = {}): Promise<QueryResult> => {
      const [got, want] = await Promise.all([query(store, pql, options), query(reference, pql, options)]);
      expect(got).toEqual(want);
      return got;
    };

    it(`answers ${CONTRACT_QUERIES.length} queries as the memory reference does, in every account and in acme`, async () => {
      for (const pql of CONTRACT_QUERIES) {
        for (const options of [{}, { accountId: 'acme' }, { accountId: 'nobody' }]) {
          try {
            await both(pql, options);
          } catch (error) {
            throw new Error(`${pql} ${JSON.stringify(options)}: ${(error as Error).message}`);
          }
        }
      }
    });

    it('THAT !PROTECTS matches either direction by default: hosts no EDR agent protects', async () => {
      expect(keys(await both('FIND host THAT !PROTECTS edr_agent', { accountId: 'acme' })).sort()).toEqual(['acme/h4', 'acme/web-02']);
      expect(keys(await both('FIND host THAT !PROTECTS edr_agent')).sort()).toEqual(['acme/h4', 'acme/web-02', 'globex/web-01']);
      // Agents point at hosts: a forced outgoing step finds no protection at all.
      expect((await both('FIND host THAT !PROTECTS -> edr_agent', { accountId: 'acme' })).count).toBe(4);
      expect(keys(await both('FIND host THAT PROTECTS <- edr_agent')).sort()).toEqual(['acme/db-01', 'acme/web-01']);
    });

    it('the issue examples give the answers they mean', async () => {
      expect(keys(await both("FIND host WITH os = 'linux' THAT USES aws_iam_role WITH admin = true"))).toEqual(['acme/web-01']);
      expect(keys(await both('FIND user THAT ASSIGNED role THAT ALLOWS policy THAT USES aws_s3_bucket'))).toEqual(['acme/alice']);
      expect(keys(await both("FIND user WITH email LIKE '%@corp.com'")).sort()).toEqual(['acme/alice', 'acme/bob']);
      expect((await both("FIND host WITH state = 'running' GROUP BY region", { accountId: 'acme' })).groups).toEqual([
        { value: 'eu-west', count: 1 },
        { value: 'us-east', count: 1 },
        { value: null, count: 1 },
      ]);
      expect((await both('FIND user THAT ASSIGNED role WITH admin = true RETURN COUNT')).count).toBe(1);
      const path = (await both("FIND SHORTEST PATH FROM user WITH email = 'alice@corp.com' TO secret WITH name = 'prod-db-password'")).path!;
      expect(path.entities.map((e) => e.entityKey)).toEqual(['alice', 'admin_role', 'web-01', 'db-01', 'prod-db-password']);
      expect(path.relationships.map((r) => r.verb)).toEqual(['ASSIGNED', 'MANAGES', 'CONNECTS', 'HAS']);
      const blast = await both("FIND BLAST RADIUS FROM host WITH _key = 'web-01' DEPTH 4", { accountId: 'acme' });
      expect(blast.layers[0]!.entities.map((e) => e.entityKey)).toEqual(['web-01']);
      expect(blast.layers[1]!.entities.map((e) => e.entityKey).sort()).toEqual(['a1', 'admin_role', 'app1', 'db-01', 'r_admin', 'web-02']);
    });

    it('string arrays: = is contains; missing and null never equal, != is true', async () => {
      expect(keys(await both("FIND user WITH groups = 'eng'")).sort()).toEqual(['acme/alice', 'acme/bob']);
      expect(keys(await both("FIND user WITH groups != 'eng'")).sort()).toEqual(['acme/carol', 'acme/dave']);
      expect((await both('FIND user WITH email = null')).count).toBe(0);
      expect((await both('FIND user WITH email EXISTS')).count).toBe(3);
      expect((await both("FIND host WITH colour != 'red'", { accountId: 'acme' })).count).toBe(4);
      expect(keys(await both('FIND host WITH cpu = 4'))).toEqual(['acme/web-01']);
    });

    it('FIND pages by cursor in id order: the pages are the whole answer', async () => {
      const whole = await both('FIND *');
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await both('FIND *', { limit: 7, ...(cursor ? { cursor } : {}) });
        expect(page.count).toBe(whole.count);
        seen.push(...page.entities.map((e) => e.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(whole.entities.map((e) => e.id));
      expect(whole.nextCursor).toBeUndefined();
    });

    it('limits: results and scanned give a QueryLimitError naming the limit; a malformed query a PqlError', async () => {
      for (const [pql, options, limit] of [
        ['FIND *', { maxScanned: 5 }, 'scanned'],
        ['FIND BLAST RADIUS FROM host WITH _key = \'web-01\' DEPTH 4', { maxScanned: 12 }, 'scanned'],
        ['FIND BLAST RADIUS FROM host DEPTH 4', { maxResults: 3 }, 'results'],
        ['FIND * GROUP BY _type', { maxResults: 2 }, 'results'],
        ['FIND *', { maxResults: 2, limit: 3 }, 'results'],
      ] as const) {
        for (const s of [store, reference]) {
          const error = await query(s, pql, options).catch((e: unknown) => e);
          expect(error, `${pql} on ${s.kind}`).toBeInstanceOf(QueryLimitError);
          expect((error as QueryLimitError).limit).toBe(limit);
        }
      }
      const page = await both('FIND *', { maxResults: 2 });
      expect(page.entities).toHaveLength(2);
      expect(page.nextCursor).toBeDefined();
      await expect(query(store, 'FIND host THAT RUN x')).rejects.toBeInstanceOf(PqlError);
      await expect(query(store, 'FIND *', { cursor: 'nope' })).rejects.toBeInstanceOf(RangeError);
    });
  });
}
