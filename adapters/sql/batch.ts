import { CommitError, describeRelationship, type CommitBatch } from '../../src/index.js';

/**
 * `prepareBatch` already refuses repeated rows; a hand-built batch that
 * repeats an id is refused by the SQL stores the same way, before anything is
 * staged (a repeated id would break the staging tables' keys mid-commit).
 */
export function checkUniqueIds(batch: CommitBatch): void {
  const entities = new Set<string>();
  for (const [index, e] of batch.entities.entries()) {
    if (entities.has(e.id)) {
      const field = `entities[${index}]`;
      throw new CommitError('InvalidBatch', `${field} repeats entity ${e.entityType}:${e.entityKey}`, { field });
    }
    entities.add(e.id);
  }
  const relationships = new Set<string>();
  for (const [index, r] of batch.relationships.entries()) {
    if (relationships.has(r.id)) {
      const field = `relationships[${index}]`;
      throw new CommitError('InvalidBatch', `${field} repeats relationship ${describeRelationship(r)}`, { field });
    }
    relationships.add(r.id);
  }
}
