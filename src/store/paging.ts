export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_HISTORY_LIMIT = 50;

/** Checks a requested page size; every adapter pages the same way. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(limit)}`);
  }
  return limit;
}

/*
 * Pages are ordered by row id, and a cursor is the last id of the previous
 * page, base64url-encoded so callers treat it as opaque. Ordering by id keeps
 * pagination stable while commits land in between.
 */
export function encodeCursor(lastId: string): string {
  return btoa(lastId).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const id = atob(cursor.replaceAll('-', '+').replaceAll('_', '/'));
    if (/^[0-9a-f]{32}$/.test(id)) return id;
  } catch {
    /* fall through to the typed error */
  }
  throw new RangeError(`cursor "${cursor}" is not a cursor this store issued`);
}
