/**
 * Guards make a failed check abort a commit from inside the database, so that
 * one SQLite transaction or one D1 `db.batch()` holds the whole commit with no
 * round trip to JS in the middle. A guard statement inserts a row into
 * `commit_guards` when its check fails; a trigger answers with
 * `RAISE(ABORT, 'parallax-edge guard: <code>')`, which fails the statement and
 * so rolls back the transaction (SQLite adapter) or the whole batch (D1).
 */

export const GUARD_CODES = [
  /** The (account, sync id) is already in `sync_runs`. */
  'DuplicateSyncId',
  /** INV-C04: a staged relationship has an endpoint that will not exist. */
  'DanglingRelationship',
  /** The staged rows are not all there (someone cleaned them): nothing is promoted. */
  'StagingIncomplete',
  /** A matched unit's rows were changed by another commit since the sync read the scope's units. */
  'SyncConflict',
] as const;

/** The codes migration 2 created triggers for (migration 5 adds the rest). */
export const GUARD_CODES_V1 = ['DuplicateSyncId', 'DanglingRelationship', 'StagingIncomplete'] as const;

export type GuardCode = (typeof GUARD_CODES)[number];

export const GUARD_MESSAGE_PREFIX = 'parallax-edge guard: ';

/**
 * The guard that aborted a statement or batch, read from the error message
 * (D1 wraps it, e.g. `D1_ERROR: parallax-edge guard: DanglingRelationship:
 * SQLITE_CONSTRAINT`), or undefined when the error is something else.
 */
export function guardFailure(error: unknown): GuardCode | undefined {
  const message = error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}` : String(error);
  for (const code of GUARD_CODES) {
    if (message.includes(`${GUARD_MESSAGE_PREFIX}${code}`)) return code;
  }
  return undefined;
}
