/**
 * The query benchmark's workload, platform-neutral (Node for SQLite and
 * memory, workerd for D1): the synthetic estate at scale n, then the six
 * queries of issue 13, each timed as the median of a few runs after a warm-up.
 */
import { commitSync, query, runConnector, type GraphStore } from '../src/index.js';
import { createSyntheticConnector } from '../connectors/synthetic/index.js';

export interface QueryTiming {
  readonly name: string;
  readonly pql: string;
  readonly medianMs: number;
  readonly count: number;
}

export interface QueryBenchResult {
  readonly store: string;
  readonly n: number;
  readonly entities: number;
  readonly relationships: number;
  readonly syncMs: number;
  readonly timings: readonly QueryTiming[];
}

const ACCOUNT = 'bench';
/** Blast radius at depth 4 reaches most of an account: the results limit is raised for it. */
const LIMITS = { maxResults: 1_000_000, maxScanned: 10_000_000, timeoutMs: 120_000 };

export function benchQueries(userKey: string, hostKey: string): { name: string; pql: string }[] {
  return [
    { name: 'one hop + property filter', pql: "FIND aws_instance WITH state = 'running' THAT USES aws_iam_role RETURN COUNT" },
    { name: 'three-hop chain', pql: 'FIND aws_instance THAT USES aws_iam_role THAT ASSIGNED aws_iam_policy THAT ALLOWS aws_s3_bucket RETURN COUNT' },
    { name: 'negated step (no EDR agent)', pql: 'FIND aws_instance THAT !PROTECTS edr_agent RETURN COUNT' },
    { name: 'GROUP BY', pql: 'FIND aws_instance GROUP BY region' },
    { name: 'shortest path', pql: `FIND SHORTEST PATH FROM aws_iam_user WITH _key = '${userKey}' TO aws_s3_bucket` },
    { name: 'blast radius, depth 4', pql: `FIND BLAST RADIUS FROM aws_instance WITH _key = '${hostKey}' DEPTH 4` },
  ];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
};

export async function runQueryBench(store: GraphStore, n: number, log: (line: string) => void = () => undefined, repeat = 5): Promise<QueryBenchResult> {
  const started = performance.now();
  await commitSync(store, await runConnector(createSyntheticConnector({ n }), { accountId: ACCOUNT, store }));
  const syncMs = performance.now() - started;
  const counts = await store.counts();
  log(`${store.kind}: synced n=${n} (${counts.entities} entities, ${counts.relationships} relationships) in ${Math.round(syncMs)} ms`);
  const [user] = (await store.listEntities({ type: 'aws_iam_user', limit: 1 })).items;
  const [host] = (await store.listEntities({ type: 'aws_instance', limit: 1 })).items;
  const timings: QueryTiming[] = [];
  for (const { name, pql } of benchQueries(user!.entityKey, host!.entityKey)) {
    let result = await query(store, pql, LIMITS);
    const times: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const t = performance.now();
      result = await query(store, pql, LIMITS);
      times.push(performance.now() - t);
    }
    const count = result.groups.length > 0 ? result.groups.length : result.count;
    timings.push({ name, pql, medianMs: median(times), count });
    log(`${store.kind}: ${name}: ${median(times).toFixed(1)} ms (${count})`);
  }
  return { store: store.kind, n, entities: counts.entities, relationships: counts.relationships, syncMs, timings };
}
