/**
 * The commit: one readwrite transaction over the graph, the history, the
 * scope's units and the staging. It reads what the shared pure plan
 * (`src/store/diff.ts`) needs — the staged chunks, the scope's ids and
 * the stored hashes of staged ids (from the scope's units while they stand
 * for its rows, else by scanning the rows), the relationships touching
 * deleted entities —
 * checks everything (sync id, SyncConflict, INV-C04), and only then issues every write without awaiting
 * them one by one: each promoted row is written once, in id order, and the
 * staging is deleted by range. Nothing but IndexedDB requests is awaited
 * inside the transaction, so it cannot auto-commit half way; any failure
 * aborts it and IndexedDB rolls every write back (INV-C01).
 *
 * Requests are native (`requests.ts`): tens of thousands per commit, one
 * promise per phase rather than one per row as `idb` would make.
 *
 * +P2: a sync that staged nothing and matched every unit of a scope whose
 * units still stand for its rows is recorded without reading a row.
 */
import {
  CommitError,
  danglingRelationship,
  duplicateSync,
  findDangling,
  planEntities,
  planRelationships,
  planStats,
  syncConflict,
  syncRecord,
  commitResult,
  emptyStats,
  type CommitResult,
  type EntityRow,
  type MatchedUnit,
  type PreparedEntity,
  type PreparedRelationship,
  type RelationshipRow,
  type SyncClose,
  type SyncHeader,
  type UnitRecord,
} from '../../src/adapter-kit.js';
import { inTransaction, type Connection } from './connection.js';
import { getEach, request } from './requests.js';
import { prefixRange, type ScopeRow, type StagedChunkRow, type StoreName, type UnitKey, type UnitRow } from './schema.js';

/** What the commit needs of a session. */
export interface StagedSync {
  readonly header: SyncHeader;
  readonly token: string;
  /** The scope's version when the session read its units (undefined if it did not). */
  readonly readVersion: number | undefined;
}

const COMMIT_STORES: StoreName[] = ['entities', 'relationships', 'history', 'staged_syncs', 'staged_chunks', 'units', 'scopes'];

/** Stands for the stored hash of a matched unit's row in both hash maps: unchanged by definition. */
const MATCHED = '\0matched';

export function commitStaged(connection: Connection, staged: StagedSync, close: SyncClose): Promise<CommitResult> {
  return inTransaction(connection, COMMIT_STORES, 'readwrite', `committing sync "${staged.header.syncId}"`, (tx) => commitIn(tx, staged, close));
}

async function commitIn(tx: IDBTransaction, { header, token, readVersion }: StagedSync, close: SyncClose): Promise<CommitResult> {
  const { accountId, connectorId, syncId } = header;
  const entities = tx.objectStore('entities');
  const relationships = tx.objectStore('relationships');
  const units = tx.objectStore('units');
  const scopes = tx.objectStore('scopes');
  const scopeKey = [accountId, connectorId];
  const kept = new Set(close.keptSteps);

  const [duplicate, staging, scope, chunks] = await Promise.all([
    request(tx.objectStore('history').index('account_sync').getKey([accountId, syncId])),
    request(tx.objectStore('staged_syncs').getKey(token)),
    request(scopes.get(scopeKey) as IDBRequest<ScopeRow | undefined>),
    request(tx.objectStore('staged_chunks').getAll(prefixRange(token)) as IDBRequest<StagedChunkRow[]>),
  ]);
  if (duplicate !== undefined) throw duplicateSync(accountId, syncId);
  if (staging === undefined) {
    throw new CommitError('StoreFailure', `the staged rows of sync "${syncId}" are gone (aborted, or cleaned up as stale); nothing was committed`);
  }

  // What the sync emitted: staged rows, and matched units standing for stored rows.
  const stagedEntities = new Map<string, PreparedEntity>();
  const stagedRelationships = new Map<string, PreparedRelationship>();
  const newUnits: UnitRecord[] = [];
  const matched: (MatchedUnit & { stepId: string })[] = [];
  for (const chunk of chunks) {
    for (const row of [...chunk.entities, ...chunk.relationships]) {
      if (stagedEntities.has(row.id) || stagedRelationships.has(row.id)) {
        throw new CommitError('InvalidBatch', `step "${chunk.stepId}" emitted a row that this sync has already staged (a record emitted twice, in two pages or steps)`, { field: 'stepId' });
      }
      if ('entityType' in row) stagedEntities.set(row.id, row);
      else stagedRelationships.set(row.id, row);
    }
    newUnits.push(...chunk.units);
    for (const m of chunk.matched) matched.push({ ...m, stepId: chunk.stepId });
  }
  const current = scope !== undefined && scope.trusted && readVersion === scope.version;
  // Matched units stand for stored rows: they must still be what this sync read.
  if (matched.length > 0 && !current) throw syncConflict(accountId, connectorId);

  const finish = (stats: ReturnType<typeof emptyStats>, unitsWritten: () => void): CommitResult => {
    const record = syncRecord(header, close, stats);
    tx.objectStore('history').add(record);
    unitsWritten();
    tx.objectStore('staged_syncs').delete(token);
    tx.objectStore('staged_chunks').delete(prefixRange(token));
    return commitResult(record);
  };

  // +P2: nothing staged, every unit of a current scope matched: only the record is written.
  if (
    current &&
    stagedEntities.size === 0 &&
    stagedRelationships.size === 0 &&
    kept.size === 0 &&
    matched.length === scope.units &&
    close.entities === scope.entities &&
    close.relationships === scope.relationships
  ) {
    const stats = { ...emptyStats(), entitiesUnchanged: close.entities, relationshipsUnchanged: close.relationships };
    return finish(stats, () => scopes.put({ ...scope, version: scope.version + 1 } satisfies ScopeRow, scopeKey));
  }

  // The scope's units; while the scope is trusted, with their rows (ids and stored hashes): then they list its rows
  // (verify mode reads the rows themselves, to catch hand edits).
  const trusted = scope?.trusted === true && !header.verify;
  const unitKeyOf = (stepId: string, kind: string, digest: string): string => `${stepId}\0${kind}\0${digest}`;
  const [storedUnitKeys, storedUnitRows] = await Promise.all([
    request(units.getAllKeys(prefixRange(accountId, connectorId))) as Promise<UnitKey[]>,
    trusted ? (request(units.getAll(prefixRange(accountId, connectorId))) as Promise<UnitRow[]>) : Promise.resolve([]),
  ]);
  const unitByKey = new Map<string, UnitRow>();
  /** Stored hashes of the current scope's rows, by kind, from its units. */
  const known = { entity: new Map<string, string>(), relationship: new Map<string, string>() };
  if (trusted) {
    storedUnitKeys.forEach((key, i) => {
      const row = storedUnitRows[i]!;
      unitByKey.set(unitKeyOf(key[2], key[3], key[4]), row);
      if (row.hashes) row.ids.forEach((id, j) => known[key[3]].set(id, row.hashes![j]!));
    });
  }
  const emittedEntities = new Map<string, string>();
  const emittedRelationships = new Map<string, string>();
  for (const [id, e] of stagedEntities) emittedEntities.set(id, e.hash);
  for (const [id, r] of stagedRelationships) emittedRelationships.set(id, r.hash);
  const matchedOrd = new Map<string, number>();
  matched.forEach((m) => {
    const unit = unitByKey.get(unitKeyOf(m.stepId, m.kind, m.digest));
    if (!unit) throw syncConflict(accountId, connectorId);
    unit.ids.forEach((id, j) => {
      if (m.kind === 'entity') emittedEntities.set(id, MATCHED);
      else {
        emittedRelationships.set(id, MATCHED);
        matchedOrd.set(id, m.ord + j);
      }
    });
  });
  if (emittedEntities.size !== close.entities || emittedRelationships.size !== close.relationships) {
    throw new CommitError(
      'StoreFailure',
      `sync "${syncId}" staged ${emittedEntities.size} entities and ${emittedRelationships.size} relationships but emitted ${close.entities} and ${close.relationships}; nothing was committed`,
    );
  }

  // The stored scope's ids (and steps, for +P1): from its units while they stand for its rows (trusted),
  // else by scanning the rows (after kept steps, another connector's writes, or an upgrade); and how many
  // rows the account has, to tell whether it has rows elsewhere.
  const scopeEntities: [string, string][] = [];
  const scopeRelationships: [string, string][] = [];
  if (trusted) {
    storedUnitKeys.forEach((key, i) => {
      const out = key[3] === 'entity' ? scopeEntities : scopeRelationships;
      for (const id of storedUnitRows[i]!.ids) out.push([id, key[2]]);
    });
  }
  const [, , accountEntities, accountRelationships] = await Promise.all([
    trusted ? undefined : scanScope(entities, accountId, connectorId, scopeEntities),
    trusted ? undefined : scanScope(relationships, accountId, connectorId, scopeRelationships),
    request(entities.index('account_type').count(prefixRange(accountId))),
    request(relationships.index('account_verb').count(prefixRange(accountId))),
  ]);
  const inScopeEntities = new Set(scopeEntities.map(([id]) => id));
  const inScopeRelationships = new Set(scopeRelationships.map(([id]) => id));
  for (const [id, hash] of emittedEntities) if (hash === MATCHED && !inScopeEntities.has(id)) throw syncConflict(accountId, connectorId);
  for (const [id, hash] of emittedRelationships) if (hash === MATCHED && !inScopeRelationships.has(id)) throw syncConflict(accountId, connectorId);
  const elsewhere = { entities: accountEntities > scopeEntities.length, relationships: accountRelationships > scopeRelationships.length };

  // Stored rows of staged ids (in the scope unless its units know their hash, or anywhere in the account when it has
  // other scopes: last writer wins, INV-C02), and of staged relationships' endpoints stored outside the scope (INV-C04).
  const storedEntities = new Map<string, EntityRow>();
  const storedRelationships = new Map<string, RelationshipRow>();
  const wantedEntities = new Set<string>();
  for (const id of stagedEntities.keys()) if (inScopeEntities.has(id) ? !known.entity.has(id) : elsewhere.entities) wantedEntities.add(id);
  if (elsewhere.entities) {
    for (const r of stagedRelationships.values()) {
      for (const id of [r.fromId, r.toId]) if (!emittedEntities.has(id) && !inScopeEntities.has(id)) wantedEntities.add(id);
    }
  }
  const wantedRelationships = [...stagedRelationships.keys()].filter((id) => (inScopeRelationships.has(id) ? !known.relationship.has(id) : elsewhere.relationships));
  await Promise.all([
    getEach<EntityRow>(entities, wantedEntities, (id, row) => row && storedEntities.set(id, row)),
    getEach<RelationshipRow>(relationships, wantedRelationships, (id, row) => row && storedRelationships.set(id, row)),
  ]);

  const storedHashes = <Row extends { hash: string }, Staged>(
    emitted: ReadonlyMap<string, string>,
    stored: ReadonlyMap<string, Row>,
    knownHashes: ReadonlyMap<string, string>,
    inScope: ReadonlySet<string>,
    staged: ReadonlyMap<string, Staged>,
    differs: (row: Row, staged: Staged) => boolean,
  ) => {
    const out = new Map<string, string>();
    for (const [id, hash] of emitted) {
      if (hash === MATCHED) out.set(id, MATCHED);
      else {
        const row = stored.get(id);
        // Verify mode compares columns too: a row edited by hand is written again.
        if (row) out.set(id, header.verify && differs(row, staged.get(id)!) ? '' : row.hash);
        else if (inScope.has(id) && knownHashes.has(id)) out.set(id, knownHashes.get(id)!);
      }
    }
    return out;
  };
  const entityPlan = planEntities(
    emittedEntities,
    storedHashes(emittedEntities, storedEntities, known.entity, inScopeEntities, stagedEntities, entityDiffers(connectorId)),
    scopeEntities,
    kept,
  );

  // INV-03: every relationship touching a deleted entity, from any connector.
  const touching: string[] = [];
  if (entityPlan.deletes.size > 0) {
    await Promise.all(
      [...entityPlan.deletes].flatMap((id) =>
        (['fromId', 'toId'] as const).map((index) => request(relationships.index(index).getAllKeys(id)).then((keys) => touching.push(...(keys as string[])))),
      ),
    );
  }

  // INV-C04 against the graph as it will be: staged relationships, and matched ones whose endpoint this commit deletes.
  const willExist = (id: string): boolean =>
    emittedEntities.has(id) || ((inScopeEntities.has(id) || storedEntities.has(id)) && !entityPlan.deletes.has(id));
  const matchedTouching: (RelationshipRow & { ord: number })[] = [];
  const touchingMatched = touching.filter((id) => matchedOrd.has(id));
  await getEach<RelationshipRow>(relationships, new Set(touchingMatched), (id, row) => row && matchedTouching.push({ ...row, ord: matchedOrd.get(id)! }));
  const dangling = findDangling([...stagedRelationships.values(), ...matchedTouching], willExist);
  if (dangling) throw danglingRelationship(dangling.first as PreparedRelationship, dangling.count);

  const relationshipPlan = planRelationships(
    emittedRelationships,
    storedHashes(emittedRelationships, storedRelationships, known.relationship, inScopeRelationships, stagedRelationships, relationshipDiffers(connectorId)),
    scopeRelationships,
    kept,
    touching,
  );

  // Other scopes whose rows this commit takes over or cascades away no longer know their units.
  const others = new Set<string>();
  for (const id of entityPlan.writes) {
    const old = storedEntities.get(id);
    if (old && old.connectorId !== connectorId) others.add(old.connectorId);
  }
  for (const id of relationshipPlan.writes) {
    const old = storedRelationships.get(id);
    if (old && old.connectorId !== connectorId) others.add(old.connectorId);
  }
  const cascadedElsewhere = [...relationshipPlan.deletes].filter((id) => !inScopeRelationships.has(id));
  await getEach<RelationshipRow>(relationships, cascadedElsewhere, (_, row) => row && row.connectorId !== connectorId && others.add(row.connectorId));
  const otherScopes = await Promise.all([...others].map(async (other) => [other, await request(scopes.get([accountId, other]) as IDBRequest<ScopeRow | undefined>)] as const));

  // Promote: every check passed. Each row written once, in id order; nothing awaited until the transaction ends.
  const source = { accountId, connectorId, syncId };
  for (const id of [...entityPlan.writes].sort()) entities.put({ ...stagedEntities.get(id)!, ...source } satisfies EntityRow);
  for (const id of entityPlan.deletes) entities.delete(id);
  for (const id of [...relationshipPlan.writes].sort()) {
    const { ord: _ord, ...row } = stagedRelationships.get(id)!;
    relationships.put({ ...row, ...source } satisfies RelationshipRow);
  }
  for (const id of relationshipPlan.deletes) relationships.delete(id);
  return finish(planStats(entityPlan, relationshipPlan), () => {
    const version = (scope?.version ?? 0) + 1;
    if (kept.size === 0) {
      // The matched units and the new ones stand for the scope's rows.
      const keep = new Set(matched.map((m) => unitKeyOf(m.stepId, m.kind, m.digest)));
      for (const key of storedUnitKeys) if (!keep.has(unitKeyOf(key[2], key[3], key[4]))) units.delete(key);
      for (const u of newUnits) {
        const rows: ReadonlyMap<string, { hash: string }> = u.kind === 'entity' ? stagedEntities : stagedRelationships;
        units.put({ ids: u.ids, hashes: u.ids.map((id) => rows.get(id)!.hash) } satisfies UnitRow, [accountId, connectorId, u.stepId, u.kind, u.digest] satisfies UnitKey);
      }
      scopes.put({ version, trusted: true, entities: close.entities, relationships: close.relationships, units: matched.length + newUnits.length } satisfies ScopeRow, scopeKey);
    } else {
      // +P1: the scope holds more than its units: unknown until a full commit.
      units.delete(prefixRange(accountId, connectorId));
      scopes.put({ version, trusted: false, entities: 0, relationships: 0, units: 0 } satisfies ScopeRow, scopeKey);
    }
    for (const [other, row] of otherScopes) {
      scopes.put({ version: (row?.version ?? 0) + 1, trusted: false, entities: 0, relationships: 0, units: 0 } satisfies ScopeRow, [accountId, other]);
    }
  });
}

/** Verify mode: a stored entity differs from the staged one in a column (a hand edit the hash does not show). */
const entityDiffers = (connectorId: string) => (o: EntityRow, s: PreparedEntity): boolean =>
  o.entityClass !== s.entityClass || o.displayName !== s.displayName || o.propertiesJson !== s.propertiesJson || o.stepId !== s.stepId ||
  o.connectorId !== connectorId || o.entityType !== s.entityType || o.entityKey !== s.entityKey;

const relationshipDiffers = (connectorId: string) => (o: RelationshipRow, s: PreparedRelationship): boolean =>
  o.propertiesJson !== s.propertiesJson || o.stepId !== s.stepId || o.connectorId !== connectorId || o.fromId !== s.fromId || o.toId !== s.toId;

/** Rows per getAll of a scope scan. */
const SCAN_BATCH = 2000;

/** The scope's [id, stepId] pairs, by scanning the store in id order: one getAll per batch. */
async function scanScope(store: IDBObjectStore, accountId: string, connectorId: string, out: [string, string][]): Promise<void> {
  let after: string | undefined;
  for (;;) {
    const rows = await request(store.getAll(after === undefined ? null : IDBKeyRange.lowerBound(after, true), SCAN_BATCH) as IDBRequest<{ id: string; accountId: string; connectorId: string; stepId: string }[]>);
    for (const row of rows) if (row.accountId === accountId && row.connectorId === connectorId) out.push([row.id, row.stepId]);
    if (rows.length < SCAN_BATCH) return;
    after = rows.at(-1)!.id;
  }
}
