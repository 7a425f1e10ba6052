import type { MatchedUnit, PreparedEntity, PreparedRelationship, StagedChunk, UnitRecord } from '../store/types.js';
import { CommitError } from './errors.js';

/*
 * A store writes what a chunk says without checking ids or JSON again, so
 * only the core makes chunks (issue: a hand-made batch with a forged id once
 * overwrote another entity's row): chunks and their rows are frozen, and a
 * session refuses any chunk that is not one of these.
 */
const made = new WeakSet<object>();

/** A frozen chunk that {@link assertStagedChunk} accepts; the core's writer is its only caller. */
export function stagedChunk(parts: {
  stepId: string;
  page: number;
  entities: PreparedEntity[];
  relationships: PreparedRelationship[];
  units: UnitRecord[];
  matched: MatchedUnit[];
}): StagedChunk {
  for (const row of parts.entities) Object.freeze(row);
  for (const row of parts.relationships) Object.freeze(row);
  for (const unit of parts.units) Object.freeze(Object.freeze(unit).ids);
  for (const match of parts.matched) Object.freeze(match);
  const chunk: StagedChunk = Object.freeze({
    stepId: parts.stepId,
    page: parts.page,
    entities: Object.freeze(parts.entities),
    relationships: Object.freeze(parts.relationships),
    units: Object.freeze(parts.units),
    matched: Object.freeze(parts.matched),
  });
  made.add(chunk);
  return chunk;
}

/**
 * For `SyncSession.stage`: throws `InvalidBatch` unless `chunk` was made by
 * the core (its ids derived, its JSON canonical, and nothing changed since).
 */
export function assertStagedChunk(chunk: unknown): asserts chunk is StagedChunk {
  if (typeof chunk !== 'object' || chunk === null || !made.has(chunk)) {
    throw new CommitError('InvalidBatch', 'a store only stages chunks that parallax-edge prepared (runConnector or commitSync)', {
      field: 'chunk',
    });
  }
}
