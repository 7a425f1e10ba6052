/*
 * Native request helpers for the hot paths: one promise per phase, not per
 * row. These bypass `idb` on purpose: its per-request promises cost more
 * than the work itself when a commit issues tens of thousands of requests.
 */

/** Resolves with the request's result. */
export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * Walks a cursor; `visit` returns false to stop early, or 'moved' when it
 * advanced the cursor itself. Exceptions in `visit` reject.
 */
export function walk<C extends IDBCursor>(req: IDBRequest<C | null>, visit: (cursor: C) => boolean | 'moved' | void): Promise<void> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => {
      const cursor = req.result;
      if (!cursor) return resolve();
      let more: boolean | 'moved' | void;
      try {
        more = visit(cursor);
      } catch (error) {
        reject(error);
        return;
      }
      if (more === false) resolve();
      else if (more !== 'moved') cursor.continue();
    };
    req.onerror = () => reject(req.error);
  });
}

/** Issues one get per key at once; IndexedDB answers in order, so the last answer resolves. */
export function getEach<T>(store: IDBObjectStore, keys: Iterable<string>, each: (key: string, value: T | undefined) => void): Promise<void> {
  const list = [...keys];
  if (list.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let pending = list.length;
    for (const key of list) {
      const req = store.get(key);
      req.onsuccess = () => {
        each(key, req.result as T | undefined);
        if (--pending === 0) resolve();
      };
      req.onerror = () => reject(req.error);
    }
  });
}

