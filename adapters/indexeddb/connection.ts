/**
 * Opening the database and its lifecycle: the schema upgrade, a
 * versionchange from another tab or a browser-side close shutting the store
 * down (commits in flight abort and roll back whole), and the errors every
 * path reports the same way.
 */
import { unwrap, wrap, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { CommitError } from '../../src/adapter-kit.js';
import { INDEXEDDB_SCHEMA_VERSION, upgradeSchema, type Schema, type StoreName } from './schema.js';

export interface IndexedDbStoreOptions {
  /**
   * The IndexedDB factory to open the database with; defaults to the global
   * `indexedDB`. The IndexedDB globals (`IDBKeyRange`, `IDBDatabase`, ...) of
   * the same implementation must be installed, as they are in browsers or
   * after `import 'fake-indexeddb/auto'` in Node.
   */
  readonly indexedDB?: IDBFactory;
  /**
   * How old another sync's staging must be before a new sync removes it as
   * the leftover of a closed or crashed page (+P4), where Web Locks cannot
   * tell whether its page is alive. Default 24 hours.
   */
  readonly stagingLeaseMs?: number;
}

/** An open database and what every part of the store needs of it. */
export interface Connection {
  readonly name: string;
  readonly db: IDBPDatabase<Schema>;
  readonly native: IDBDatabase;
  readonly closedReason: string | undefined;
  /** Throws `StoreFailure` once the store is closed or shut down. */
  ensureOpen(): void;
  /** A native transaction, after checking the store is usable; readwrite ones are aborted by a shutdown. */
  transaction(stores: StoreName[], mode: IDBTransactionMode): IDBTransaction;
  /** IndexedDB failures as `CommitError` `StoreFailure`; our own errors (CommitError, RangeError) pass through. */
  failure(error: unknown, doing: string, writing?: boolean): unknown;
  close(reason: string): void;
  /** Ties a live session's Web Lock to the connection: released when the session ends or the store closes, whichever comes first. */
  holding(release: () => void): () => void;
}

export function factoryOf(options: IndexedDbStoreOptions, name: string, doing: string): IDBFactory {
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!factory) throw new CommitError('StoreFailure', `IndexedDB is not available here: cannot ${doing} "${name}"`);
  return factory;
}

/** Opens (creating or upgrading) the database; `StoreFailure` when it cannot, or when it is newer than this adapter. */
export async function connect(name: string, options: IndexedDbStoreOptions): Promise<Connection> {
  const factory = factoryOf(options, name, 'open');
  let db: IDBPDatabase<Schema>;
  try {
    // idb's openDB, with the factory passed in: openDB only uses the global one.
    const opening = factory.open(name, INDEXEDDB_SCHEMA_VERSION);
    opening.addEventListener('upgradeneeded', (event) => {
      const upgrade = wrap(opening.transaction!) as unknown as IDBPTransaction<Schema, StoreName[], 'versionchange'>;
      upgradeSchema(wrap(opening.result) as unknown as IDBPDatabase<Schema>, event.oldVersion, upgrade);
    });
    db = (await wrap(opening)) as unknown as IDBPDatabase<Schema>;
  } catch (error) {
    if (isDomError(error, 'VersionError')) {
      throw new CommitError(
        'StoreFailure',
        `the IndexedDB database "${name}" has a newer schema than this adapter's version ${INDEXEDDB_SCHEMA_VERSION}; it was upgraded by a newer version of the app`,
        { cause: error },
      );
    }
    throw new CommitError('StoreFailure', `cannot open the IndexedDB database "${name}": ${describe(error)}`, { cause: error });
  }
  const native = unwrap(db);
  let closedReason: string | undefined;
  const active = new Set<IDBTransaction>();
  const locks = new Set<() => void>();
  const releaseLocks = (): void => {
    for (const release of [...locks]) release();
  };

  const shutDown = (reason: string): void => {
    closedReason ??= reason;
    releaseLocks();
    for (const tx of active) {
      try {
        tx.abort();
      } catch {
        /* already committing or finished: it lands whole */
      }
    }
    native.close();
  };
  native.addEventListener('versionchange', (event) => {
    shutDown(
      event.newVersion === null
        ? `the IndexedDB database "${name}" was closed because another tab or connection is deleting it (versionchange)`
        : `the IndexedDB database "${name}" was closed because another tab or connection is upgrading it to version ${event.newVersion} (versionchange); reload to use the new version`,
    );
  });
  native.addEventListener('close', () => shutDown(`the browser closed the IndexedDB database "${name}" unexpectedly (storage cleared, evicted or failed)`));

  const closed = (): CommitError => new CommitError('StoreFailure', closedReason ?? `the IndexedDB database "${name}" is closed`);
  const connection: Connection = {
    name,
    db,
    native,
    get closedReason() {
      return closedReason;
    },
    ensureOpen() {
      if (closedReason !== undefined) throw closed();
    },
    transaction(stores, mode) {
      connection.ensureOpen();
      let tx: IDBTransaction;
      try {
        tx = native.transaction(stores, mode);
      } catch (error) {
        // InvalidStateError: the connection is closing (a versionchange arrived before our handler ran).
        throw closedReason !== undefined ? closed() : connection.failure(error, 'starting a transaction');
      }
      if (mode === 'readwrite') {
        active.add(tx);
        const forget = (): boolean => active.delete(tx);
        tx.addEventListener('complete', forget);
        tx.addEventListener('abort', forget);
      }
      return tx;
    },
    failure(error, doing, writing = false) {
      if (error instanceof CommitError || error instanceof RangeError) return error;
      const rolledBack = writing ? '; the transaction was rolled back and nothing was written' : '';
      if (isDomError(error, 'QuotaExceededError')) {
        return new CommitError('StoreFailure', `the storage quota was exceeded while ${doing} in the IndexedDB database "${name}"${rolledBack}`, { cause: error });
      }
      if (closedReason !== undefined) return new CommitError('StoreFailure', `${closedReason}; interrupted while ${doing}${rolledBack}`, { cause: error });
      return new CommitError('StoreFailure', `IndexedDB failed while ${doing} in "${name}": ${describe(error)}${rolledBack}`, { cause: error });
    },
    close(reason) {
      closedReason ??= reason;
      releaseLocks();
      native.close();
    },
    holding(release) {
      const once = (): void => {
        if (locks.delete(once)) release();
      };
      locks.add(once);
      return once;
    },
  };
  return connection;
}

/**
 * Runs `body` in a transaction and waits for it to land; on any failure the
 * transaction is aborted (IndexedDB rolls every write back) and the error
 * reported as `doing`. Only IndexedDB requests may be awaited in `body`.
 */
export async function inTransaction<T>(
  connection: Connection,
  stores: StoreName[],
  mode: IDBTransactionMode,
  doing: string,
  body: (tx: IDBTransaction) => Promise<T>,
): Promise<T> {
  const tx = connection.transaction(stores, mode);
  const done = new Promise<void>((resolve, reject) => {
    tx.addEventListener('complete', () => resolve());
    tx.addEventListener('abort', () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError')));
  });
  done.catch(() => undefined);
  const writing = mode === 'readwrite';
  try {
    const result = await body(tx);
    await done;
    return result;
  } catch (error) {
    try {
      tx.abort();
    } catch {
      /* already aborted (quota, versionchange) or finished */
    }
    // The transaction's own error (QuotaExceededError...) says more than a request's AbortError.
    const cause = await done.then(
      () => error,
      (txError: unknown) => (error instanceof CommitError || error instanceof RangeError ? error : (txError ?? error)),
    );
    throw connection.failure(cause, doing, writing);
  }
}

export function isDomError(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name;
}

function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    return typeof name === 'string' && name !== 'Error' ? `${name}: ${String(message)}` : String(message);
  }
  return String(error);
}
