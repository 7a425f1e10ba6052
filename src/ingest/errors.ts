/** Why a commit was refused. Nothing was changed when one is thrown. */
export type CommitErrorCode =
  /** The batch itself is malformed; `field` names the offending field. */
  | 'InvalidBatch'
  /** A row is over `MAX_ROW_BYTES`; `field` names its largest field (`entities[3].properties.blob`). */
  | 'RowTooLarge'
  /** INV-C04: a relationship endpoint would not exist after the commit; `relationship` names it. */
  | 'DanglingRelationship'
  /** The (account, sync id) was committed before. */
  | 'DuplicateSyncId'
  /** Another sync changed rows of this scope while this one ran; run it again. */
  | 'SyncConflict'
  /** The store could not be used: closed, upgraded elsewhere, full, or failed underneath. */
  | 'StoreFailure';

/**
 * A refused commit. Thrown before anything changes, or after the store's
 * atomic unit was rolled back: either way the graph is as it was (INV-C01).
 */
export class CommitError extends Error {
  override readonly name = 'CommitError';

  constructor(
    readonly code: CommitErrorCode,
    message: string,
    readonly details: { readonly field?: string; readonly relationship?: string; readonly cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get field(): string | undefined {
    return this.details.field;
  }

  /** `fromType:fromKey VERB toType:toKey` of a dangling relationship. */
  get relationship(): string | undefined {
    return this.details.relationship;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.details.field !== undefined) out.field = this.details.field;
    if (this.details.relationship !== undefined) out.relationship = this.details.relationship;
    return out;
  }
}
