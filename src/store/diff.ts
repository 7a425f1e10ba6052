/*
 * The diff of a commit as pure functions over what a store gathered: the
 * emitted rows (staged, plus those of matched units), the stored hashes of
 * those rows, and the connector's stored scope. The memory and IndexedDB
 * stores gather these their own way (maps; cursors inside the commit's
 * transaction) and apply the plan in their atomic unit; the SQL stores run
 * the same semantics set-wise in SQL (adapters/sql). The comments name the
 * rule each branch is.
 */
import { emptyStats, type SyncStats } from '../ingest/stats.js';

/** What the entity half of a commit does. */
export interface EntityPlan {
  /** Emitted ids to write: created, or stored with another hash. */
  readonly writes: readonly string[];
  /** Scope rows not emitted whose step is not kept. */
  readonly deletes: ReadonlySet<string>;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  /** +P1: scope rows not emitted whose step is kept. */
  readonly kept: number;
}

/**
 * Entities: each emitted row is created, updated or unchanged by its stored
 * hash (anywhere in the store: last writer wins, INV-C02); a scope row that
 * was not emitted is deleted, unless its step is kept (+P1).
 */
export function planEntities(
  emitted: ReadonlyMap<string, string>,
  storedHashes: ReadonlyMap<string, string>,
  scope: Iterable<readonly [id: string, stepId: string]>,
  keptSteps: ReadonlySet<string>,
): EntityPlan {
  const writes: string[] = [];
  let created = 0;
  let updated = 0;
  let unchanged = 0;
  for (const [id, hash] of emitted) {
    const old = storedHashes.get(id);
    if (old === undefined) created++;
    else if (old === hash) unchanged++;
    else updated++;
    if (old !== hash) writes.push(id);
  }
  const deletes = new Set<string>();
  let kept = 0;
  for (const [id, stepId] of scope) {
    if (emitted.has(id)) continue;
    if (keptSteps.has(stepId)) kept++;
    else deletes.add(id);
  }
  return { writes, deletes, created, updated, unchanged, kept };
}

/** An emitted relationship's endpoints and place in the sync, for INV-C04. */
export interface Endpoints {
  readonly fromId: string;
  readonly toId: string;
  readonly ord: number;
}

/**
 * INV-C04: the emitted relationships whose endpoint will not exist after the
 * commit (`willExist`: emitted, or stored and not deleted by it): the one
 * emitted first (smallest `ord`) and how many; undefined when none dangles.
 */
export function findDangling<R extends Endpoints>(
  relationships: Iterable<R>,
  willExist: (id: string) => boolean,
): { readonly first: R; readonly count: number } | undefined {
  let first: R | undefined;
  let count = 0;
  for (const r of relationships) {
    if (willExist(r.fromId) && willExist(r.toId)) continue;
    if (first === undefined || r.ord < first.ord) first = r;
    count++;
  }
  return first && { first, count };
}

/** What the relationship half of a commit does. */
export interface RelationshipPlan {
  readonly writes: readonly string[];
  /** Scope rows not emitted whose step is not kept, and INV-03's cascade. */
  readonly deletes: ReadonlySet<string>;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly kept: number;
  /** Of `deletes`, those removed only because an endpoint is deleted. */
  readonly cascaded: number;
}

/**
 * Relationships: created, updated or unchanged like entities; a scope row
 * that was not emitted is deleted unless its step is kept; and every other
 * stored relationship touching a deleted entity, from any connector, is
 * deleted too (INV-03), counted as cascaded, even a kept one. `touching`
 * lists the stored relationships with an endpoint in the entity deletes.
 */
export function planRelationships(
  emitted: ReadonlyMap<string, string>,
  storedHashes: ReadonlyMap<string, string>,
  scope: Iterable<readonly [id: string, stepId: string]>,
  keptSteps: ReadonlySet<string>,
  touching: Iterable<string>,
): RelationshipPlan {
  const { writes, deletes, created, updated, unchanged } = planEntities(emitted, storedHashes, scope, keptSteps);
  const keptIds = new Set<string>();
  for (const [id, stepId] of scope) if (!emitted.has(id) && keptSteps.has(stepId)) keptIds.add(id);
  const all = new Set(deletes);
  let cascaded = 0;
  for (const id of touching) {
    if (all.has(id) || emitted.has(id)) continue;
    all.add(id);
    keptIds.delete(id);
    cascaded++;
  }
  return { writes, deletes: all, created, updated, unchanged, kept: keptIds.size, cascaded };
}

/** The stats of a commit planned with {@link planEntities} and {@link planRelationships}. */
export function planStats(entities: EntityPlan, relationships: RelationshipPlan): SyncStats {
  return {
    ...emptyStats(),
    entitiesCreated: entities.created,
    entitiesUpdated: entities.updated,
    entitiesUnchanged: entities.unchanged,
    entitiesDeleted: entities.deletes.size,
    entitiesKept: entities.kept,
    relationshipsCreated: relationships.created,
    relationshipsUpdated: relationships.updated,
    relationshipsUnchanged: relationships.unchanged,
    relationshipsDeleted: relationships.deletes.size,
    relationshipsCascaded: relationships.cascaded,
    relationshipsKept: relationships.kept,
  };
}
