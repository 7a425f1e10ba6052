/**
 * PQL inside IndexedDB: the memory reference's algorithm
 * (`adapters/memory-query.ts`) on index key ranges, in one readonly
 * transaction (a consistent snapshot), with the shared value rules of
 * `matchesNode` / `groupValues` (adapter-kit). Only the entities a filter
 * names and the relationships of the entities a step or traversal visits
 * are read, never the whole graph (except for a `*` filter, which names it).
 *
 * - A filter reads `entities` by `account_type` (and `account_class` for a
 *   known class name), one `getAll` of a key range per account; `*` reads
 *   the account's `account_type` prefix, or the whole store.
 * - A step reads the relationships at each target by `toId` (the current
 *   entity points at the target), `fromId` (the other way), or both; for
 *   many targets, the verb's relationships by `account_verb` instead.
 * - SHORTEST PATH and BLAST RADIUS walk layer by layer over `fromId` and
 *   `toId`; a path stops at the first layer that reaches a start.
 *
 * Only IndexedDB requests are awaited while the transaction is open; the
 * checks (deadline, limits) are synchronous.
 */
import {
  checkDeadline,
  checkResults,
  checkScanned,
  compareGroups,
  emptyResult,
  encodeCursor,
  fieldValue,
  groupValues,
  matchesNode,
  planNodes,
  QueryLimitError,
  storedEntity,
  storedRelationship,
  type BlastPlan,
  type EntityRow,
  type FindPlan,
  type GroupValue,
  type PathPlan,
  type PlanFilter,
  type PlanNode,
  type PlanStep,
  type QueryContext,
  type QueryPlan,
  type QueryResult,
  type RelationshipRow,
  type StoredEntity,
  type StoredRelationship,
} from '../../src/adapter-kit.js';
import { afterStep, findAnswer, isGood, type StepSet } from '../memory-query.js';
import type { Connection } from './connection.js';
import { getEach, request, walk } from './requests.js';
import { prefixRange } from './schema.js';

/** Rows a cursor or getAll reads for the cost of one more request (Chromium, roughly). */
const ROWS_PER_REQUEST = 32;

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A relationship seen from one of its ends. */
interface Incident {
  readonly row: RelationshipRow;
  readonly other: string;
}

/** Evaluates a plan in one readonly transaction on `connection`. */
export async function evaluateIndexedDbQuery(connection: Connection, plan: QueryPlan, context: QueryContext): Promise<QueryResult> {
  connection.ensureOpen();
  const tx = connection.transaction(['entities', 'relationships'], 'readonly');
  try {
    return await evaluate(tx, plan, context);
  } catch (error) {
    // A hit limit is the query's answer, not a store failure.
    throw error instanceof QueryLimitError ? error : connection.failure(error, 'evaluating a query');
  }
}

async function evaluate(tx: IDBTransaction, plan: QueryPlan, context: QueryContext): Promise<QueryResult> {
  const entities = tx.objectStore('entities');
  const relationships = tx.objectStore('relationships');
  const byType = entities.index('account_type');
  const byClass = entities.index('account_class');
  const { accountId } = context;

  /** The accounts to read: the context's, or every account with an entity (keys only, one jump per account). */
  let accountList: string[] | undefined;
  async function accounts(): Promise<string[]> {
    if (accountId !== undefined) return [accountId];
    if (accountList) return accountList;
    const list: string[] = [];
    await walk(byType.openKeyCursor(null, 'nextunique'), (cursor) => {
      const account = (cursor.key as [string, string])[0];
      list.push(account);
      cursor.continue([account, []]);
      return 'moved';
    });
    return (accountList = list);
  }

  /** How many entities a filter matches (counts and keys only), for the scanned limit. */
  async function filterCount(filter: PlanFilter): Promise<number> {
    if (filter.kind === 'any') return request(accountId === undefined ? entities.count() : byType.count(prefixRange(accountId)));
    let n = 0;
    for (const account of await accounts()) {
      const key = IDBKeyRange.only([account, filter.name]);
      if (!filter.orClass) {
        n += await request(byType.count(key));
        continue;
      }
      const ids = new Set<string>();
      for (const index of [byType, byClass]) for (const id of await request(index.getAllKeys(key))) ids.add(id as string);
      n += ids.size;
    }
    return n;
  }

  /** The entities a node matches, in the account: one `getAll` per index range (a cursor costs a request per row). */
  async function candidates(node: PlanNode): Promise<StoredEntity[]> {
    const out = new Map<string, StoredEntity>();
    const take = (rows: EntityRow[]): void => {
      for (const row of rows) {
        if (out.has(row.id)) continue;
        const entity = storedEntity(row);
        if (matchesNode(entity, node)) out.set(entity.id, entity);
      }
    };
    const { filter } = node;
    if (filter.kind === 'any') {
      take(await request(accountId === undefined ? entities.getAll() : byType.getAll(prefixRange(accountId))));
    } else {
      for (const account of await accounts()) {
        const key = IDBKeyRange.only([account, filter.name]);
        take(await request(byType.getAll(key)));
        if (filter.orClass) take(await request(byClass.getAll(key)));
      }
    }
    return [...out.values()];
  }

  /** The stored entities of these ids that a node matches, in the account (without a node: any of them, as a traversal reaches them). */
  async function entitiesOf(ids: Iterable<string>, node?: PlanNode): Promise<StoredEntity[]> {
    const out: StoredEntity[] = [];
    await getEach<EntityRow>(entities, ids, (_id, row) => {
      if (!row || (node && accountId !== undefined && row.accountId !== accountId)) return;
      const entity = storedEntity(row);
      if (!node || matchesNode(entity, node)) out.push(entity);
    });
    return out;
  }

  /**
   * The relationships at each id, all requests issued at once: `to` reads
   * those whose `toId` is the id, `from` those whose `fromId` is.
   */
  async function incidents(ids: readonly string[], ends: { from: boolean; to: boolean }): Promise<Map<string, Incident[]>> {
    const out = new Map<string, Incident[]>(ids.map((id) => [id, []]));
    const reads: Promise<void>[] = [];
    for (const id of ids) {
      const list = out.get(id)!;
      if (ends.from) reads.push(request(relationships.index('fromId').getAll(IDBKeyRange.only(id))).then((rows) => void list.push(...(rows as RelationshipRow[]).map((row) => ({ row, other: row.toId })))));
      if (ends.to) reads.push(request(relationships.index('toId').getAll(IDBKeyRange.only(id))).then((rows) => void list.push(...(rows as RelationshipRow[]).map((row) => ({ row, other: row.fromId })))));
    }
    await Promise.all(reads);
    return out;
  }
  const BOTH = { from: true, to: true };

  let scanned = 0;
  for (const node of planNodes(plan)) scanned += await filterCount(node.filter);
  checkScanned(context, scanned);
  checkDeadline(context);

  /**
   * Distances from `sources` (either direction, any verb), up to `depth`;
   * `until`: stop after the first layer that reaches one of these ids (a
   * shortest path needs no farther layer).
   */
  async function distances(sources: readonly StoredEntity[], depth: number, until?: ReadonlySet<string>): Promise<Map<string, number>> {
    const dist = new Map<string, number>();
    let frontier = sources.map((e) => e.id);
    for (const id of frontier) dist.set(id, 0);
    const reached = (ids: readonly string[]): boolean => until !== undefined && ids.some((id) => until.has(id));
    for (let d = 1; d <= depth && frontier.length > 0 && !reached(frontier); d++) {
      checkDeadline(context);
      const next: string[] = [];
      const around = await incidents(frontier, BOTH);
      for (const id of frontier) {
        for (const { other } of around.get(id)!) {
          if (!dist.has(other)) {
            dist.set(other, d);
            next.push(other);
          }
        }
      }
      frontier = next;
    }
    return dist;
  }

  switch (plan.kind) {
    case 'find':
      return find(plan);
    case 'path':
      return path(plan);
    case 'blast':
      return blast(plan);
  }

  async function find(plan: FindPlan): Promise<QueryResult> {
    let good: StepSet | undefined;
    for (const step of [...plan.steps].reverse()) {
      checkDeadline(context);
      const targets = (await candidates(step.target)).filter((e) => step.negated || isGood(good, e.id));
      good = afterStep(good, step.negated, await stepSources(step, targets.map((e) => e.id)));
    }
    // A positive set names the only possible matches: read those, not the start's whole filter.
    const starts = good && !good.negate ? await entitiesOf(good.set, plan.start) : await candidates(plan.start);
    const matches = starts.filter((e) => isGood(good, e.id)).sort(byId);
    checkDeadline(context);
    return findAnswer(plan, matches, context);
  }

  /**
   * Entities with a relationship of `step` to one of the targets. `out`: the
   * current entity points at the target, so the target is the `to` end.
   * A relationship's ends are in its account (INV-C03), so its own account
   * stands for the source's.
   */
  async function stepSources(step: PlanStep, targetIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (step.verb !== undefined && targetIds.length > 0 && (await bulkIsCheaper(step.verb, targetIds.length))) {
      // Many targets: the verb's relationships by `account_verb`, one range per account, beat a request per target.
      const targets = new Set(targetIds);
      for (const account of await accounts()) {
        const rows = (await request(relationships.index('account_verb').getAll(IDBKeyRange.only([account, step.verb])))) as RelationshipRow[];
        for (const row of rows) {
          if (step.direction !== 'in' && targets.has(row.toId)) out.add(row.fromId);
          if (step.direction !== 'out' && targets.has(row.fromId)) out.add(row.toId);
        }
      }
      return out;
    }
    const around = await incidents(targetIds, { from: step.direction !== 'out', to: step.direction !== 'in' });
    for (const list of around.values()) {
      for (const { row, other } of list) {
        if (step.verb !== undefined && row.verb !== step.verb) continue;
        if (accountId !== undefined && row.accountId !== accountId) continue;
        out.add(other);
      }
    }
    return out;
  }

  /**
   * Whether reading every relationship of the verb costs less than a request
   * per target: a request costs about as much as reading a few dozen rows.
   */
  async function bulkIsCheaper(verb: string, targets: number): Promise<boolean> {
    let rows = 0;
    for (const account of await accounts()) rows += await request(relationships.index('account_verb').count(IDBKeyRange.only([account, verb])));
    return rows <= targets * ROWS_PER_REQUEST;
  }

  async function path(plan: PathPlan): Promise<QueryResult> {
    const starts = await candidates(plan.from);
    const dist = await distances(await candidates(plan.to), plan.depth, new Set(starts.map((e) => e.id)));
    let k = Infinity;
    let first: StoredEntity | undefined;
    for (const s of starts.sort(byId)) {
      const d = dist.get(s.id);
      if (d !== undefined && d < k) {
        k = d;
        first = s;
      }
    }
    if (!first) return emptyResult('path');
    const ids = [first.id];
    const rels: StoredRelationship[] = [];
    let current = first.id;
    for (let i = 0; i < k; i++) {
      let best: Incident | undefined;
      for (const inc of (await incidents([current], BOTH)).get(current)!) {
        if (dist.get(inc.other) === k - i - 1 && (!best || inc.row.id < best.row.id)) best = inc;
      }
      rels.push(storedRelationship(best!.row));
      current = best!.other;
      ids.push(current);
    }
    const found = new Map((await entitiesOf(ids.slice(1))).map((e) => [e.id, e]));
    const list = [first, ...ids.slice(1).map((id) => found.get(id)!)];
    return { ...emptyResult('path'), count: list.length, path: { entities: list, relationships: rels } };
  }

  async function blast(plan: BlastPlan): Promise<QueryResult> {
    const dist = await distances(await candidates(plan.from), plan.depth);
    checkScanned(context, scanned + dist.size);
    checkResults(context, dist.size);
    const layers: { distance: number; entities: StoredEntity[] }[] = [];
    for (const d of dist.values()) while (layers.length <= d) layers.push({ distance: layers.length, entities: [] });
    await getEach<EntityRow>(entities, dist.keys(), (id, row) => {
      if (row) layers[dist.get(id)!]!.entities.push(storedEntity(row));
    });
    for (const layer of layers) layer.entities.sort(byId);
    return { ...emptyResult('blast'), count: dist.size, layers };
  }
}
