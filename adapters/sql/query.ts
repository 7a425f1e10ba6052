/**
 * PQL inside the database, for SQLite and D1 alike: a plan becomes a few
 * read statements (the same text on both), properties are read with
 * `json_type`/`json_extract`/`json_each`, steps are nested EXISTS
 * subqueries, and SHORTEST PATH and BLAST RADIUS are recursive CTEs. Only
 * the answer's rows come back to JavaScript, never the graph.
 *
 * The value rules are those of `src/query/match.ts` (the memory store's),
 * stated in SQL: every condition is 0 or 1, never NULL, so NOT is plain
 * negation; LIKE becomes GLOB (case-sensitive, one character per `?`).
 */
import {
  checkDeadline,
  checkResults,
  checkScanned,
  QueryTooComplexError,
  emptyResult,
  encodeCursor,
  fieldValue,
  planNodes,
  type BuiltinField,
  type FindPlan,
  type GroupValue,
  type PlanCondition,
  type PlanField,
  type PlanNode,
  type PlanStep,
  type PqlValue,
  type QueryContext,
  type QueryPlan,
  type QueryResult,
  type StoredEntity,
} from '../../src/adapter-kit.js';
import { ENTITY_COLUMNS, RELATIONSHIP_COLUMNS, entityFromRow, relationshipFromRow, type Row } from './read.js';
import { statement, type SqlStatement, type SqlValue } from './statement.js';

/**
 * The most SQL text a query's conditions may build. An undirected step
 * repeats the rest of the chain in both of its branches, so the text doubles
 * with each such step: past this it is refused before it is built (D1 itself
 * takes 100 KB a statement; SQLite's default is 1 GB).
 */
export const MAX_QUERY_SQL_LENGTH = 1_000_000;

/** Runs read statements in one snapshot; their rows, in order. */
export type ReadRunner = (statements: readonly SqlStatement[]) => Promise<readonly (readonly Row[])[]>;

const COLUMN: Readonly<Record<BuiltinField, string>> = {
  id: 'id',
  entityType: 'entity_type',
  entityClass: 'entity_class',
  entityKey: 'entity_key',
  displayName: 'display_name',
  connectorId: 'connector_id',
  accountId: 'account_id',
};

const columnsOf = (list: string, alias: string, prefix = ''): string =>
  list
    .split(',')
    .map((c) => `${alias}.${c.trim()} AS ${prefix}${c.trim()}`)
    .join(', ');

/** Bound values, each distinct one once (D1 allows 100 per statement). */
class Params {
  readonly values: SqlValue[] = [];
  readonly #index = new Map<string, number>();
  add(value: SqlValue): string {
    const key = `${typeof value}\0${String(value)}`;
    let n = this.#index.get(key);
    if (n === undefined) {
      this.values.push(value);
      this.#index.set(key, (n = this.values.length));
    }
    return `?${n}`;
  }
}

/**
 * The JSON path of a top-level property: its name as a JSON string, so that a
 * backslash, a quote or a control character in it is escaped, not read as path
 * syntax (`$."a\b"` is an error, `$."a\u0062"` would be `ab`).
 */
const propertyPath = (name: string): string => `$.${JSON.stringify(name)}`;

/** SQL LIKE as a GLOB pattern (GLOB is case-sensitive, as PQL's LIKE). */
export function likeToGlob(pattern: string, escape: string): string {
  const chars = [...pattern];
  let glob = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const literal = c === escape && i + 1 < chars.length ? chars[++i]! : undefined;
    if (literal === undefined && c === '%') glob += '*';
    else if (literal === undefined && c === '_') glob += '?';
    else {
      const l = literal ?? c;
      glob += l === '*' || l === '?' || l === '[' ? `[${l}]` : l;
    }
  }
  return glob;
}

class Builder {
  readonly params = new Params();
  constructor(private readonly context: QueryContext) {}

  value(field: PlanField, alias: string): { type: string; value: string; path: string } {
    const path = this.params.add(propertyPath((field as { name: string }).name));
    return { type: `json_type(${alias}.properties, ${path})`, value: `json_extract(${alias}.properties, ${path})`, path };
  }

  equals(field: PlanField, literal: PqlValue, alias: string): string {
    if (field.kind === 'builtin') return typeof literal === 'string' ? `(${alias}.${COLUMN[field.field]} = ${this.params.add(literal)})` : '0';
    const p = this.value(field, alias);
    if (typeof literal === 'string') {
      const s = this.params.add(literal);
      return `(CASE ${p.type} WHEN 'text' THEN ${p.value} = ${s} WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(${alias}.properties, ${p.path}) j WHERE j.type = 'text' AND j.value = ${s}) ELSE 0 END)`;
    }
    if (typeof literal === 'number') return `COALESCE(${p.type} IN ('integer', 'real') AND ${p.value} = ${this.params.add(literal)}, 0)`;
    if (typeof literal === 'boolean') return `(${p.type} IS '${literal}')`;
    return '0';
  }

  /**
   * `field` equal to one of `values` as {@link equals} has it, each type's
   * values bound as one JSON array that json_each reads: one parameter and one
   * level of depth however long the list (an OR of equalities nests a level per
   * value, past D1's 100 at about 100 values).
   */
  oneOf(field: PlanField, values: readonly PqlValue[], alias: string): string {
    const strings = values.filter((v): v is string => typeof v === 'string');
    const numbers = values.filter((v): v is number => typeof v === 'number');
    const list = (items: readonly (string | number)[]): string => `(SELECT value FROM json_each(${this.params.add(JSON.stringify(items))}))`;
    if (field.kind === 'builtin') return strings.length > 0 ? `(${alias}.${COLUMN[field.field]} IN ${list(strings)})` : '0';
    const p = this.value(field, alias);
    const parts: string[] = [];
    if (strings.length > 0) {
      const s = list(strings);
      parts.push(`(CASE ${p.type} WHEN 'text' THEN ${p.value} IN ${s} WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(${alias}.properties, ${p.path}) j WHERE j.type = 'text' AND j.value IN ${s}) ELSE 0 END)`);
    }
    if (numbers.length > 0) parts.push(`COALESCE(${p.type} IN ('integer', 'real') AND ${p.value} IN ${list(numbers)}, 0)`);
    for (const flag of [true, false]) if (values.includes(flag)) parts.push(`(${p.type} IS '${flag}')`);
    return `(${parts.join(' OR ') || '0'})`;
  }

  condition(c: PlanCondition, alias: string): string {
    switch (c.kind) {
      case 'compare': {
        if (c.op === '=') return this.equals(c.field, c.value, alias);
        if (c.op === '!=') return `(NOT ${this.equals(c.field, c.value, alias)})`;
        const { value: literal } = c;
        if (typeof literal !== 'string' && typeof literal !== 'number') return '0';
        if (c.field.kind === 'builtin') return typeof literal === 'string' ? `(${alias}.${COLUMN[c.field.field]} ${c.op} ${this.params.add(literal)})` : '0';
        const p = this.value(c.field, alias);
        const types = typeof literal === 'string' ? `'text'` : `'integer', 'real'`;
        return `COALESCE(${p.type} IN (${types}) AND ${p.value} ${c.op} ${this.params.add(literal)}, 0)`;
      }
      case 'in':
        return this.oneOf(c.field, c.values, alias);
      case 'like': {
        const g = this.params.add(likeToGlob(c.pattern, c.escape));
        if (c.field.kind === 'builtin') return `(${alias}.${COLUMN[c.field.field]} GLOB ${g})`;
        const p = this.value(c.field, alias);
        return `(CASE ${p.type} WHEN 'text' THEN ${p.value} GLOB ${g} WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(${alias}.properties, ${p.path}) j WHERE j.type = 'text' AND j.value GLOB ${g}) ELSE 0 END)`;
      }
      case 'exists': {
        if (c.field.kind === 'builtin') return '1';
        const p = this.value(c.field, alias);
        return `COALESCE(${p.type} != 'null', 0)`;
      }
      case 'not':
        return `(NOT ${this.condition(c.condition, alias)})`;
      case 'and':
      case 'or':
        return `(${c.conditions.map((x) => this.condition(x, alias)).join(c.kind === 'and' ? ' AND ' : ' OR ')})`;
    }
  }

  /** The filter, the account and the WITH of a node, on `alias`. */
  node(node: PlanNode, alias: string, withWhere = true): string {
    const parts: string[] = [];
    if (node.filter.kind === 'named') {
      const name = this.params.add(node.filter.name);
      parts.push(node.filter.orClass ? `(${alias}.entity_type = ${name} OR ${alias}.entity_class = ${name})` : `${alias}.entity_type = ${name}`);
    }
    if (this.context.accountId !== undefined) parts.push(`${alias}.account_id = ${this.params.add(this.context.accountId)}`);
    if (withWhere && node.where) parts.push(this.condition(node.where, alias));
    return parts.length > 0 ? parts.join(' AND ') : '1';
  }

  /**
   * Conditions on the entity `prevId` for steps `i..` (a negated step tests
   * it and the chain goes on from it). A target that is only a type, or `*`,
   * is checked on the relationship's own `to_type`/`from_type` (the id is
   * derived from it, INV-C03): one covering index seek, no entity read. An
   * undirected step is one EXISTS over both directions' far ends (UNION ALL),
   * so the rest of the chain is written once and the SQL grows linearly with
   * the steps (two EXISTS would each repeat it: 2^n copies).
   */
  chain(prevId: string, steps: readonly PlanStep[], i: number): string {
    const step = steps[i];
    if (!step) return '1';
    const alias = `e${i + 1}`;
    const r = `r${i + 1}`;
    const t = step.target;
    // No account check either: a relationship's ends are in its account (their ids are derived with it).
    const onEdge = !t.where && (t.filter.kind === 'any' || !t.filter.orClass);
    const verb = step.verb === undefined ? '' : ` AND ${r}.verb = ${this.params.add(step.verb)}`;
    const type = onEdge && t.filter.kind === 'named' ? this.params.add(t.filter.name) : undefined;
    // The far ends of the relationships at `prevId` in one direction, as `far`.
    const ends = (near: 'from_id' | 'to_id', far: 'from_id' | 'to_id'): string =>
      `SELECT ${r}.${far} AS far FROM relationships ${r} WHERE ${r}.${near} = ${prevId}${verb}` +
      (type === undefined ? '' : ` AND ${r}.${far === 'to_id' ? 'to_type' : 'from_type'} = ${type}`);
    // LIMIT -1 (no limit) stops SQLite pushing the outer WHERE, the rest of the chain, into both arms: 2^n copies again, in the planner.
    const both =
      step.direction === 'out' ? ends('from_id', 'to_id') : step.direction === 'in' ? ends('to_id', 'from_id') : `${ends('from_id', 'to_id')} UNION ALL ${ends('to_id', 'from_id')} LIMIT -1`;
    const id = onEdge ? `${r}.far` : `${alias}.id`;
    const rest = step.negated ? '1' : this.chain(id, steps, i + 1);
    if (rest.length > MAX_QUERY_SQL_LENGTH) {
      throw new QueryTooComplexError(`the query's steps and conditions make more than ${MAX_QUERY_SQL_LENGTH} characters of SQL: use fewer of them`);
    }
    // CROSS JOIN keeps the far ends as the outer loop: the planner may otherwise scan entities for every row of the chain.
    const join = onEdge ? '' : ` CROSS JOIN entities ${alias} ON ${alias}.id = ${r}.far`;
    // Without "1 AND" terms: each AND is a level of the expression depth D1 caps at 100.
    const where = [onEdge ? '1' : this.node(t, alias), rest].filter((part) => part !== '1').join(' AND ') || '1';
    const any = `EXISTS (SELECT 1 FROM (${both}) ${r}${join} WHERE ${where})`;
    return step.negated ? `(NOT ${any}) AND ${this.chain(prevId, steps, i + 1)}` : any;
  }

  statement(sql: string): SqlStatement {
    return statement('read', sql, this.params.values);
  }
}

/** How many entities the plan's filters match (the first part of what it scans). */
function scannedStatement(plan: QueryPlan, context: QueryContext): SqlStatement {
  const b = new Builder(context);
  const counts = planNodes(plan).map((node, i) => `(SELECT COUNT(*) FROM entities s${i} WHERE ${b.node(node, `s${i}`, false)})`);
  return b.statement(`SELECT ${counts.join(' + ')} AS n`);
}

/** The CTE of distances from the entities of `seed` (either direction, any verb) up to `depth`. */
function reachCte(b: Builder, seed: string, depth: number): string {
  const d = b.params.add(depth);
  return `reach(id, d) AS (${seed}
    UNION SELECT r.to_id, b.d + 1 FROM reach b JOIN relationships r ON r.from_id = b.id WHERE b.d < ${d}
    UNION SELECT r.from_id, b.d + 1 FROM reach b JOIN relationships r ON r.to_id = b.id WHERE b.d < ${d}),
  dist(id, d) AS (SELECT id, MIN(d) FROM reach GROUP BY id)`;
}

/**
 * The shortest path of exactly `length` hops, if there is none shorter:
 * `ds`/`dt` are distances from the starts (up to ceil(length/2)) and the
 * targets (the rest); `back` walks the shortest paths' first half from where
 * the two meet back to the starts, so that `rem` holds, for every entity on
 * a shortest path, its hops to a target. The walk then takes, from the
 * smallest start id, the smallest relationship id that stays on a shortest
 * path: the memory reference's path (adapters/memory-query.ts).
 */
function pathStatement(from: PlanNode, to: PlanNode, length: number, context: QueryContext): SqlStatement {
  const b = new Builder(context);
  const a = Math.ceil(length / 2);
  const k = `(SELECT k FROM best)`;
  const pick = (near: string, far: string, n: string): string =>
    `(SELECT MIN(${n}.id) FROM relationships ${n} JOIN rem t${n} ON t${n}.id = ${n}.${far} WHERE ${n}.${near} = w.id AND t${n}.t = ${k} - w.i - 1)`;
  const ra = pick('from_id', 'to_id', 'ra');
  const rb = pick('to_id', 'from_id', 'rb');
  const ball = (name: string, seed: string, depth: number): string => {
    const d = b.params.add(depth);
    return `${name}(id, d) AS (${seed}
      UNION SELECT r.to_id, x.d + 1 FROM ${name} x JOIN relationships r ON r.from_id = x.id WHERE x.d < ${d}
      UNION SELECT r.from_id, x.d + 1 FROM ${name} x JOIN relationships r ON r.to_id = x.id WHERE x.d < ${d})`;
  };
  const sql = `WITH RECURSIVE
    starts(id) AS (SELECT f.id FROM entities f WHERE ${b.node(from, 'f')}),
    ${ball('fr', 'SELECT id, 0 FROM starts', a)},
    ds(id, d) AS (SELECT id, MIN(d) FROM fr GROUP BY id),
    ${ball('br', `SELECT t.id, 0 FROM entities t WHERE ${b.node(to, 't')}`, length - a)},
    dt(id, d) AS (SELECT id, MIN(d) FROM br GROUP BY id),
    best(k) AS (SELECT MIN(s.d + t.d) FROM ds s JOIN dt t ON t.id = s.id),
    back(id, d) AS (SELECT s.id, s.d FROM ds s JOIN dt t ON t.id = s.id WHERE s.d + t.d = ${k}
      UNION SELECT p.id, p.d FROM back x JOIN relationships r ON r.to_id = x.id JOIN ds p ON p.id = r.from_id WHERE p.d = x.d - 1
      UNION SELECT p.id, p.d FROM back x JOIN relationships r ON r.from_id = x.id JOIN ds p ON p.id = r.to_id WHERE p.d = x.d - 1),
    rem(id, t) AS (SELECT id, d FROM dt UNION SELECT id, ${k} - d FROM back),
    walk(i, id, rel) AS (
      SELECT 0, (SELECT MIN(s.id) FROM starts s JOIN rem t ON t.id = s.id WHERE t.t = best.k), NULL FROM best WHERE best.k = ${b.params.add(length)}
      UNION ALL
      SELECT w.i + 1, CASE WHEN r.from_id = w.id THEN r.to_id ELSE r.from_id END, r.id
      FROM walk w JOIN relationships r ON r.id = MIN(COALESCE(${ra}, ${rb}), COALESCE(${rb}, ${ra}))
      WHERE w.i < ${k})
    SELECT w.i AS step, ${columnsOf(ENTITY_COLUMNS, 'e')}, ${columnsOf(RELATIONSHIP_COLUMNS, 'rr', 'r_')}
    FROM walk w JOIN entities e ON e.id = w.id LEFT JOIN relationships rr ON rr.id = w.rel
    ORDER BY w.i`;
  return b.statement(sql);
}

const fromPrefixed = (row: Row, prefix: string): Row => {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
};

/** Evaluates a plan with `read` (one snapshot per call), as the memory reference does. */
export async function evaluateSqlQuery(read: ReadRunner, plan: QueryPlan, context: QueryContext): Promise<QueryResult> {
  const [[scanRow]] = (await read([scannedStatement(plan, context)])) as [Row[]];
  const scanned = Number(scanRow!.n);
  checkScanned(context, scanned);
  checkDeadline(context);
  switch (plan.kind) {
    case 'find':
      return find(read, plan, context);
    case 'path': {
      // Iterative deepening, meeting in the middle: a path of length L is
      // found from both ends, ceil(L/2) hops from the starts and floor(L/2)
      // from the targets, so a short path never explores the whole graph.
      for (let length = 0; length <= plan.depth; length++) {
        const [rows] = await read([pathStatement(plan.from, plan.to, length, context)]);
        checkDeadline(context);
        const steps = rows!.filter((r) => r.step !== null);
        if (steps.length === 0) continue;
        const entities = steps.map((r) => entityFromRow(r));
        const relationships = steps.slice(1).map((r) => relationshipFromRow(fromPrefixed(r, 'r_')));
        return { ...emptyResult('path'), count: entities.length, path: { entities, relationships } };
      }
      return emptyResult('path');
    }
    case 'blast': {
      const b = new Builder(context);
      const max = b.params.add(context.limits.maxResults + 1);
      const sql = `WITH RECURSIVE ${reachCte(b, `SELECT f.id, 0 FROM entities f WHERE ${b.node(plan.from, 'f')}`, plan.depth)}
        SELECT c.reached AS reached, t.d AS distance, ${columnsOf(ENTITY_COLUMNS, 'e')}
        FROM (SELECT COUNT(*) AS reached FROM dist) c LEFT JOIN (SELECT id, d FROM dist ORDER BY d, id LIMIT ${max}) t LEFT JOIN entities e ON e.id = t.id
        ORDER BY t.d, t.id`;
      const [rows] = await read([b.statement(sql)]);
      checkDeadline(context);
      const reached = Number(rows![0]!.reached);
      checkScanned(context, scanned + reached);
      checkResults(context, reached);
      const layers: { distance: number; entities: StoredEntity[] }[] = [];
      for (const row of rows!) {
        if (row.distance === null) continue;
        const d = Number(row.distance);
        while (layers.length <= d) layers.push({ distance: layers.length, entities: [] });
        layers[d]!.entities.push(entityFromRow(row));
      }
      return { ...emptyResult('blast'), count: reached, layers };
    }
  }
}

async function find(read: ReadRunner, plan: FindPlan, context: QueryContext): Promise<QueryResult> {
  const b = new Builder(context);
  // The steps (index lookups) before the start's WITH (which reads the row's JSON).
  const startWith = plan.start.where ? ` AND ${b.condition(plan.start.where, 'e0')}` : '';
  const where = `${b.node(plan.start, 'e0', false)} AND ${b.chain('e0.id', plan.steps, 0)}${startWith}`;
  const limited = plan.limit !== undefined && plan.output.kind !== 'groups';
  const count = limited
    ? `SELECT COUNT(*) AS n FROM (SELECT e0.id FROM entities e0 WHERE ${where} ORDER BY e0.id LIMIT ${b.params.add(plan.limit!)})`
    : `SELECT COUNT(*) AS n FROM entities e0 WHERE ${where}`;
  const statements = [count];
  const output = plan.output;
  if (output.kind === 'groups') {
    const field = output.field;
    const source =
      field.kind === 'builtin'
        ? `SELECT e0.id AS id, 's' AS kind, e0.${COLUMN[field.field]} AS value FROM entities e0 WHERE ${where}`
        : `SELECT e0.id AS id,
             CASE j.type WHEN 'true' THEN 'b' WHEN 'false' THEN 'b' WHEN 'integer' THEN 'n' WHEN 'real' THEN 'n' WHEN 'text' THEN 's' ELSE 'z' END AS kind,
             CASE WHEN j.type IN ('true', 'false', 'integer', 'real', 'text') THEN j.value END AS value
           FROM entities e0 LEFT JOIN json_each(e0.properties, ${b.params.add(propertyPath(field.name))}) j WHERE ${where}`;
    const cap = b.params.add(Math.min(plan.limit ?? Infinity, context.limits.maxResults + 1));
    statements.push(`SELECT kind, value, COUNT(DISTINCT id) AS n FROM (${source}) GROUP BY kind, value ORDER BY n DESC, kind, value LIMIT ${cap}`);
  } else if (output.kind !== 'count') {
    const columns = columnsOf(ENTITY_COLUMNS, 'e0');
    const page = b.params.add(context.pageSize + 1);
    const after = context.after === undefined ? undefined : b.params.add(context.after);
    statements.push(
      limited
        ? `SELECT * FROM (SELECT ${columns} FROM entities e0 WHERE ${where} ORDER BY e0.id LIMIT ${b.params.add(plan.limit!)})
           ${after ? `WHERE id > ${after}` : ''} ORDER BY id LIMIT ${page}`
        : `SELECT ${columns} FROM entities e0 WHERE ${where}${after ? ` AND e0.id > ${after}` : ''} ORDER BY e0.id LIMIT ${page}`,
    );
  }
  const results = await read(statements.map((sql) => b.statement(sql)));
  checkDeadline(context);
  const total = Number(results[0]![0]!.n);
  if (output.kind === 'count') return { ...emptyResult('find'), count: total };
  const rows = results[1]!;
  if (output.kind === 'groups') {
    checkResults(context, rows.length);
    const groups = rows.map((r) => ({ value: groupValue(r), count: Number(r.n) }));
    return { ...emptyResult('find'), count: total, groups };
  }
  const entities = rows.slice(0, context.pageSize).map((r) => entityFromRow(r));
  const more = rows.length > context.pageSize ? { nextCursor: encodeCursor(entities.at(-1)!.id) } : {};
  if (output.kind === 'rows') {
    const projected = entities.map((e) => Object.fromEntries(output.columns.map((c) => [c.name, fieldValue(e, c.field) ?? null])));
    return { ...emptyResult('find'), count: total, rows: projected, ...more };
  }
  return { ...emptyResult('find'), count: total, entities, ...more };
}

function groupValue(row: Row): GroupValue {
  switch (row.kind) {
    case 'b':
      return Number(row.value) === 1;
    case 'n':
      return Number(row.value);
    case 's':
      return String(row.value);
    default:
      return null;
  }
}
