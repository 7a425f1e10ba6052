import { CommitError } from '../ingest/errors.js';
import { describeRelationship } from '../model/validate.js';
import type { PreparedRelationship } from './types.js';

/** INV-C04, worded the same by every adapter. */
export function danglingRelationship(r: PreparedRelationship, danglingCount = 1): CommitError {
  const name = describeRelationship(r);
  const more = danglingCount > 1 ? ` (and ${danglingCount - 1} more)` : '';
  return new CommitError(
    'DanglingRelationship',
    `relationship ${name} points to an entity that will not exist after this commit${more}; nothing was committed`,
    { relationship: name },
  );
}

export function duplicateSync(accountId: string, syncId: string): CommitError {
  return new CommitError('DuplicateSyncId', `sync id "${syncId}" was already committed for account "${accountId}"`, {
    field: 'syncId',
  });
}

/**
 * A sync recognised rows as unchanged (a matched unit, a row staged without
 * its content) that another commit changed before this one: nothing was
 * committed, and running the sync again succeeds.
 */
export function syncConflict(accountId: string, connectorId: string): CommitError {
  return new CommitError(
    'SyncConflict',
    `rows of connector "${connectorId}" in account "${accountId}" were changed by another commit while this sync ran; nothing was committed, run it again`,
  );
}
