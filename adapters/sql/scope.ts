/**
 * The unchanged-scope check: an unchanged re-sync (+P2) recorded without
 * staging a row.
 *
 * After a commit without kept steps, a connector's scope (its rows in the
 * account) is exactly the batch it committed, so the commit stores a digest
 * of that batch in `scope_state`, together with the scope's write count at
 * that moment. Every later write to a row of the scope by anyone else counts:
 * another connector's commit taking a row over or cascading a relationship
 * away (counted set-wise by that commit, {@link countOtherScopesStatement}),
 * and any write outside commits, such as an edit by hand (counted by the
 * triggers of schema migration 3, which stand aside while a commit promotes,
 * so that a commit's `changes` stay its own rows on D1 too).
 *
 * A later batch with the same digest, while the count has not moved,
 * therefore holds exactly the stored rows: every row is unchanged, nothing is
 * deleted or kept, and no relationship can dangle (INV-C04, since the graph
 * does not change and INV-03 held). Only the sync-run record is written. Any
 * other batch takes the full staged path of `commit.ts`.
 *
 * The digest is SHA-256 over the batch's (id, content hash) pairs in id
 * order, entities then relationships: collision-resistant, so no crafted
 * batch can pass for the stored one (an additive or XOR set hash could be
 * steered by whoever controls the upstream data).
 *
 * The scope also keeps the `inputDigest` of the connector output its batch
 * was prepared from (schema migration 4). It is checked the same way, by
 * `GraphStore.commitIfUnchanged` before `commitSync` prepares anything
 * ({@link unchangedRunStatements}): an equal output prepares into the equal
 * batch, so its rows are the stored ones. It follows emit order; an output
 * with the same rows in another order is prepared and matched by the batch
 * digest, and its input digest then becomes the scope's.
 */
import { CommitError, describeRelationship, sha256Hex, type CommitBatch, type UnchangedRun } from '../../src/index.js';
import { SYNC_RUN_COLUMNS } from './schema.js';
import { statement, type SqlStatement } from './statement.js';

interface Row {
  readonly id: string;
  readonly hash: string;
}

/** Ids whose first 8 characters are lowercase hex sort like those 8 digits' value (then by the rest). */
const HEX_PREFIX = /^[0-9a-f]{8}/;
/** Rows per table that fit the packed sort key (index in the low 21 bits). */
const MAX_PACKED_ROWS = 2 ** 21;

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Indexes of `rows` in ascending id order. Ids made by `prepareBatch` are 32
 * hex digits: their first 8 digits and the row index pack into one float, and
 * a typed-array sort of those is several times faster than sorting strings;
 * rows whose first 8 digits tie are then put in full-id order. Any other ids
 * are sorted as strings.
 */
function idOrder(rows: readonly Row[]): ArrayLike<number> {
  const n = rows.length;
  const byString = (): number[] => Array.from(rows.keys()).sort((a, b) => compare(rows[a]!.id, rows[b]!.id));
  if (n >= MAX_PACKED_ROWS) return byString();
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const id = rows[i]!.id;
    if (!HEX_PREFIX.test(id)) return byString();
    keys[i] = Number.parseInt(id.slice(0, 8), 16) * MAX_PACKED_ROWS + i;
  }
  keys.sort();
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = keys[i]! % MAX_PACKED_ROWS;
  for (let start = 0; start < n; ) {
    const prefix = Math.floor(keys[start]! / MAX_PACKED_ROWS);
    let end = start + 1;
    while (end < n && Math.floor(keys[end]! / MAX_PACKED_ROWS) === prefix) end++;
    if (end - start > 1) order.subarray(start, end).sort((a, b) => compare(rows[a]!.id, rows[b]!.id));
    start = end;
  }
  return order;
}

/**
 * The index of the first row, in batch order, whose id an earlier row already
 * had: what a scan with a set of seen ids would report, found from
 * neighbours in id order (only called once a repeat is known).
 */
function firstRepeat(rows: readonly Row[], order: ArrayLike<number>): number {
  let first = Infinity;
  for (let i = 1; i < order.length; i++) {
    if (rows[order[i]!]!.id !== rows[order[i - 1]!]!.id) continue;
    // A run of equal ids: the scan stops at the run's second-smallest index.
    let end = i + 1;
    while (end < order.length && rows[order[end]!]!.id === rows[order[i]!]!.id) end++;
    const run = Array.from({ length: end - i + 1 }, (_, k) => order[i - 1 + k]!).sort((a, b) => a - b);
    first = Math.min(first, run[1]!);
    i = end - 1;
  }
  return first;
}

/** `id hash` lines in id order; throws InvalidBatch naming the first repeated id. */
function orderedPairs(rows: readonly Row[], kind: 'entities' | 'relationships', describe: (index: number) => string): string {
  const order = idOrder(rows);
  // Joined, not concatenated: one flat string for the hash, not a rope of a million pieces.
  const lines = new Array<string>(order.length);
  let previous: string | undefined;
  let repeated = false;
  for (let i = 0; i < order.length; i++) {
    const row = rows[order[i]!]!;
    if (row.id === previous) repeated = true;
    previous = row.id;
    lines[i] = `${row.id} ${row.hash}\n`;
  }
  const text = lines.join('');
  if (repeated) {
    const index = firstRepeat(rows, order);
    const field = `${kind}[${index}]`;
    throw new CommitError('InvalidBatch', `${field} repeats ${describe(index)}`, { field });
  }
  return text;
}

/**
 * The batch's digest for the unchanged-scope check (lowercase hex SHA-256).
 * Also refuses a batch that repeats an id, as `prepareBatch` does, with
 * `InvalidBatch` naming the repeat (`entities[7]`): a hand-built batch must
 * not reach the staging tables' keys with one.
 */
export function batchDigest(batch: CommitBatch): string {
  const entities = orderedPairs(batch.entities, 'entities', (i) => {
    const e = batch.entities[i]!;
    return `entity ${e.entityType}:${e.entityKey}`;
  });
  const relationships = orderedPairs(batch.relationships, 'relationships', (i) => `relationship ${describeRelationship(batch.relationships[i]!)}`);
  return sha256Hex(`entities\n${entities}relationships\n${relationships}`);
}

/** What the sync-run record of an unchanged re-sync holds besides its stats. */
type UnchangedRecord = Omit<UnchangedRun, 'inputDigest'> & { readonly keptSteps: readonly string[] };

/**
 * The commit of an unchanged re-sync, tried before any staging (SQLite: first
 * in its transaction; D1: a batch of its own): the DuplicateSyncId guard, then
 * the sync-run record with every row unchanged, inserted only when the
 * scope's stored digest is `digest` and no write has touched the scope since
 * it was taken. The `result` statement returns the record, or no row when the
 * check did not hold (the caller then commits the full way). When the check
 * holds, the batch's `inputDigest` becomes the scope's.
 */
export function unchangedScopeStatements(batch: CommitBatch, digest: string, committedAt: string): SqlStatement[] {
  const statements = unchangedStatements(
    { ...batch, entities: batch.entities.length, relationships: batch.relationships.length },
    'digest',
    digest,
    committedAt,
  );
  if (batch.inputDigest === undefined) return statements;
  // The output this batch came from is then the scope's too, so its next
  // identical output needs no preparing: after an upgrade from schema 3, or
  // when the connector emitted the same rows in another order.
  const remember = statement(
    'record',
    `UPDATE scope_state SET input_digest = ?3
     WHERE account_id = ?1 AND connector_id = ?2 AND digest = ?4 AND writes = digest_writes`,
    [batch.accountId, batch.connectorId, batch.inputDigest, digest],
  );
  return [...statements.slice(0, -1), remember, statements.at(-1)!];
}

/**
 * The same for an output not yet prepared (`GraphStore.commitIfUnchanged`):
 * the check is on the scope's stored `input_digest`, the digest of the
 * output its last full commit was prepared from.
 */
export function unchangedRunStatements(run: UnchangedRun, committedAt: string): SqlStatement[] {
  return unchangedStatements({ ...run, keptSteps: [] }, 'input_digest', run.inputDigest, committedAt);
}

function unchangedStatements(
  run: UnchangedRecord,
  column: 'digest' | 'input_digest',
  digest: string,
  committedAt: string,
): SqlStatement[] {
  const scope = [run.accountId, run.syncId];
  return [
    statement(
      'guard',
      `INSERT INTO commit_guards (code) SELECT 'DuplicateSyncId' WHERE EXISTS (
        SELECT 1 FROM sync_runs WHERE account_id = ?1 AND sync_id = ?2)`,
      scope,
    ),
    statement(
      'record',
      `INSERT INTO sync_runs ${SYNC_RUN_COLUMNS}
       SELECT s.account_id, s.connector_id, ?3, ?4, ?5, ?6, ?7, ?8, 0, 0, ?9, 0, 0, 0, 0, ?10, 0, 0, 0
       FROM scope_state s WHERE s.account_id = ?1 AND s.connector_id = ?2 AND s.${column} = ?11 AND s.writes = s.digest_writes`,
      [
        run.accountId,
        run.connectorId,
        run.syncId,
        run.startedAt,
        run.finishedAt,
        committedAt,
        JSON.stringify(run.failedSteps),
        JSON.stringify(run.keptSteps),
        run.entities,
        run.relationships,
        digest,
      ],
    ),
    statement('result', `SELECT * FROM sync_runs WHERE account_id = ?1 AND sync_id = ?2`, scope),
  ];
}

/** First statement of a promote: the triggers stand aside until {@link endPromoteStatement}. */
export function beginPromoteStatement(token: string): SqlStatement {
  return statement('record', `INSERT INTO commits_in_progress (token) VALUES (?1)`, [token]);
}

export function endPromoteStatement(token: string): SqlStatement {
  return statement('record', `DELETE FROM commits_in_progress WHERE token = ?1`, [token]);
}

/** The sync-run row of the commit being promoted, for the count of one stats column. */
const RECORDED = (column: string): string => `(
  SELECT r.${column} FROM sync_runs r JOIN staged_commits c ON r.account_id = c.account_id AND r.sync_id = c.sync_id
  WHERE c.token = ?1)`;

/**
 * One more write for every scope this commit is about to take a row from
 * (the stored row of an updated row, when another connector last wrote it)
 * or cascade a relationship away from (INV-03). Run after the `record`
 * statement and before the graph statements, while the graph is unchanged.
 * Its own scope may count too; its digest is taken afresh at the end. The
 * lookups of stored rows run only when the stats count an updated row
 * (never in a first sync).
 */
export function countOtherScopesStatement(token: string): SqlStatement {
  return statement(
    'record',
    `INSERT INTO scope_state (account_id, connector_id, writes)
     SELECT account_id, connector_id, 1 FROM (
       SELECT o.account_id, o.connector_id FROM staged_entities s JOIN entities o ON o.id = s.id
       WHERE s.token = ?1 AND o.hash <> s.hash AND ${RECORDED('entities_updated')} > 0
       UNION
       SELECT o.account_id, o.connector_id FROM staged_relationships s JOIN relationships o ON o.id = s.id
       WHERE s.token = ?1 AND o.hash <> s.hash AND ${RECORDED('relationships_updated')} > 0
       UNION
       SELECT r.account_id, r.connector_id FROM staged_relationship_deletes d JOIN relationships r ON r.id = d.id
       WHERE d.token = ?1 AND d.cascaded = 1
     ) WHERE true
     ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1`,
    [token],
  );
}

/** The digests a full commit stores for its scope; null stores none. */
export interface ScopeDigests {
  /** `batchDigest` of the committed batch. */
  readonly batch: string | null;
  /** `inputDigest` of the output the batch was prepared from, when it came with one. */
  readonly input: string | null;
}

/**
 * The last write of a full commit: the batch's digests as the scope's, with
 * the write count the commit's own writes left (taken after the graph
 * statements). A commit that kept rows (+P1) leaves a scope that is more
 * than its batch, so it stores no digest.
 */
export function recordScopeStatement(token: string, digests: ScopeDigests): SqlStatement {
  return statement(
    'record',
    `INSERT INTO scope_state (account_id, connector_id, writes, digest, input_digest, digest_writes)
     SELECT h.account_id, h.connector_id, 0, CASE WHEN h.kept_steps = '[]' THEN ?2 END, CASE WHEN h.kept_steps = '[]' THEN ?3 END, 0
     FROM staged_commits h WHERE h.token = ?1
     ON CONFLICT (account_id, connector_id) DO UPDATE SET
       digest = excluded.digest, input_digest = excluded.input_digest, digest_writes = scope_state.writes`,
    [token, digests.batch, digests.input],
  );
}
