/**
 * The two errors a PQL query throws: {@link PqlError} for a malformed query
 * (where, and what was expected), {@link QueryLimitError} for a query that
 * hit one of its limits (which one).
 */

/** A malformed PQL query: `line` and `column` are 1-based, `offset` 0-based (UTF-16 units). */
export class PqlError extends Error {
  override readonly name = 'PqlError';
  constructor(
    /** What the parser wanted there, e.g. "a verb after THAT". */
    readonly expected: string,
    /** What it found: `'RUN'`, or `end of query`. */
    readonly found: string,
    readonly line: number,
    readonly column: number,
    readonly offset: number,
  ) {
    super(`line ${line}, col ${column}: expected ${expected}, found ${found}`);
  }
}

/**
 * The store cannot run the query as written: it is larger or nests deeper
 * than the store takes (a SQL store's statement length, bound values or
 * expression depth; D1's are far below SQLite's defaults). Nothing ran.
 */
export class QueryTooComplexError extends Error {
  override readonly name = 'QueryTooComplexError';
}

/** The limit a query hit. */
export type QueryLimit = 'time' | 'scanned' | 'results';

/** A query stopped at one of its limits ({@link QueryLimits}); nothing partial is returned. */
export class QueryLimitError extends Error {
  override readonly name = 'QueryLimitError';
  constructor(
    readonly limit: QueryLimit,
    /** The configured maximum (ms for `time`). */
    readonly max: number,
    message: string,
  ) {
    super(message);
  }
}
