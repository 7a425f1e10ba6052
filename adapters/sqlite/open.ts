/**
 * Opening the file: WAL, the syncing connection's bounded caches, migrations
 * applied in one transaction, and the TEMP staging tables; or, read-only, the
 * schema checked and nothing changed.
 */
import Database from 'better-sqlite3';
import { CommitError } from '../../src/adapter-kit.js';
import {
  CREATE_MIGRATIONS_TABLE,
  CURRENT_VERSION_QUERY,
  migrationStatements,
  tempStagingStatements,
  type SqlStatement,
} from '../sql/index.js';
import { connection, type Connection } from './connection.js';
import { SORTER_THREADS, STAGING_CACHE_KIB, SYNC_CACHE_KIB } from './api.js';
import { checkSchema } from './read-only.js';

export function storeFailure(message: string, cause?: unknown): CommitError {
  return new CommitError('StoreFailure', message, cause === undefined ? {} : { cause });
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface OpenOptions {
  readonly path: string;
  readonly readonly: boolean;
  readonly busyTimeoutMs: number;
  readonly trace: ((sql: string) => void) | undefined;
}

/** The store's own connection to `path`, ready to sync (or to read, `readonly`). Throws `StoreFailure`. */
export function openConnection({ path, readonly, busyTimeoutMs, trace }: OpenOptions): Connection {
  let db: Database.Database;
  try {
    db = new Database(path, {
      readonly,
      fileMustExist: readonly,
      timeout: busyTimeoutMs,
      ...(trace ? { verbose: (sql: unknown) => trace(String(sql)) } : {}),
    });
  } catch (error) {
    throw storeFailure(`cannot open SQLite database "${path}": ${describeError(error)}`, error);
  }

  const main = connection(db);
  const { exec } = main;

  try {
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      migrate();
      // Syncs stage into TEMP tables that shadow the file's: connection-local,
      // kept in a temp file past a bounded cache, so a big sync does not grow memory.
      db.pragma('temp_store = FILE');
      db.pragma(`temp.cache_size = -${STAGING_CACHE_KIB}`);
      db.pragma('temp.journal_mode = MEMORY');
      db.pragma(`main.cache_size = -${SYNC_CACHE_KIB}`);
      // Big sorts (the commit's sort of staged rows, index builds) may use helper threads: 1M rows, CLI, 38.4 to 36.1 s.
      db.pragma(`threads = ${SORTER_THREADS}`);
      for (const s of tempStagingStatements()) exec(s);
    } else {
      checkSchema(db, path);
    }
  } catch (error) {
    db.close();
    throw error instanceof CommitError ? error : storeFailure(`cannot prepare SQLite database "${path}": ${describeError(error)}`, error);
  }

  function migrate(): void {
    db.transaction(() => {
      exec(CREATE_MIGRATIONS_TABLE);
      const current = exec(CURRENT_VERSION_QUERY).rows[0]?.version as number | null | undefined;
      let statements: SqlStatement[];
      try {
        statements = migrationStatements(current ?? null, new Date().toISOString());
      } catch (error) {
        throw storeFailure(`SQLite database "${path}": ${describeError(error)}`, error);
      }
      for (const s of statements) exec(s);
    }).immediate();
  }
  return main;
}
