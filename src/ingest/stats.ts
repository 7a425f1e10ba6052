/**
 * What a commit did, row by row. Every adapter computes the same numbers for
 * the same commit (+P3).
 */
export interface SyncStats {
  entitiesCreated: number;
  /** Content, class, display name, or source (connector/step) changed. */
  entitiesUpdated: number;
  entitiesUnchanged: number;
  entitiesDeleted: number;
  /** +P1: stored rows of a failed or downstream step that were not re-emitted and so were kept. */
  entitiesKept: number;
  relationshipsCreated: number;
  relationshipsUpdated: number;
  relationshipsUnchanged: number;
  /** Deleted by the diff plus deleted by the INV-03 cascade. */
  relationshipsDeleted: number;
  /** INV-03: of `relationshipsDeleted`, those removed only because an endpoint was deleted. */
  relationshipsCascaded: number;
  relationshipsKept: number;
}

export function emptyStats(): SyncStats {
  return {
    entitiesCreated: 0,
    entitiesUpdated: 0,
    entitiesUnchanged: 0,
    entitiesDeleted: 0,
    entitiesKept: 0,
    relationshipsCreated: 0,
    relationshipsUpdated: 0,
    relationshipsUnchanged: 0,
    relationshipsDeleted: 0,
    relationshipsCascaded: 0,
    relationshipsKept: 0,
  };
}

/** Graph rows a commit with these stats writes: +P2 wants zero for an unchanged re-sync. */
export function rowWrites(stats: SyncStats): number {
  return (
    stats.entitiesCreated +
    stats.entitiesUpdated +
    stats.entitiesDeleted +
    stats.relationshipsCreated +
    stats.relationshipsUpdated +
    stats.relationshipsDeleted
  );
}
