/** Opening the CLI's SQLite store, with one-line errors for paths that cannot be used. */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { SCHEMA_VERSION } from '../adapters/sql/schema.js';
import type { SqliteSchemaError } from '../adapters/sqlite.js';
import type { GraphStore } from '../src/index.js';
import { CliError, oneLine } from './errors.js';

export const DEFAULT_STORE_PATH = './data/parallax.db';
export const MEMORY_STORE_PATH = ':memory:';

export interface OpenOptions {
  readonly cwd: string;
  /**
   * `read`: the store must exist and is opened read-only, so a read never
   * creates, writes or migrates a file. `write` (sync): the file and its
   * directory are created if missing and an older schema is migrated; a file
   * that is something else than a store is refused.
   */
  readonly access: 'read' | 'write';
}

/**
 * Opens the SQLite store at `path` (relative to `cwd`), or an in-memory one
 * for `:memory:`. Throws a CliError (exit 2) naming the path when the
 * directory cannot be created, the file cannot be opened or, for reads, does
 * not exist, is not a parallax-edge store or is at another schema version.
 */
export async function openStore(path: string, options: OpenOptions): Promise<GraphStore> {
  if (path === MEMORY_STORE_PATH) {
    const { createSqliteStore } = await loadSqliteAdapter();
    return open(path, () => createSqliteStore(path));
  }
  const { file, exists } = await storeFile(path, options.cwd, options.access === 'write');
  const { createSqliteStore } = await loadSqliteAdapter();
  if (options.access === 'read') return open(path, () => createSqliteStore({ path: file, readonly: true }));
  if (exists) {
    // Look before opening read-write: a store may be migrated and an empty
    // file become one, but another file is never changed.
    const problem = await schemaProblem(path, file);
    if (problem && problem.problem !== 'older' && problem.problem !== 'empty') throw openError(path, problem);
  }
  return open(path, () => createSqliteStore(file));
}

/**
 * `parallax-edge migrate`: brings an existing store to this code's schema
 * version; `from` is the version it was at.
 */
export async function migrateStore(path: string, cwd: string): Promise<{ from: number; to: number }> {
  const { file } = await storeFile(path, cwd, false);
  const { createSqliteStore } = await loadSqliteAdapter();
  const problem = await schemaProblem(path, file);
  if (!problem) return { from: SCHEMA_VERSION, to: SCHEMA_VERSION };
  if (problem.problem !== 'older') throw openError(path, problem);
  await (await open(path, () => createSqliteStore(file))).close();
  return { from: problem.version!, to: SCHEMA_VERSION };
}

/**
 * The absolute path of a store file, and whether it exists. `create`: its
 * directory is made if missing; otherwise the file must exist.
 */
async function storeFile(path: string, cwd: string, create: boolean): Promise<{ file: string; exists: boolean }> {
  const file = resolvePath(cwd, path);
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : error));
  if (info instanceof Error) throw new CliError(`cannot use store path ${path}: ${describeFsError(info)}`);
  if (info?.isDirectory()) throw new CliError(`store path ${path} is a directory; pass a file path such as ${path}/parallax.db`);
  if (!info && !create) {
    throw new CliError(`no store at ${path}; run "parallax-edge sync" first, or pass --store PATH`);
  }
  if (!info) {
    try {
      await makeDirectories(dirname(file));
    } catch (error) {
      throw new CliError(`cannot create store directory for ${path}: ${describeFsError(error)}`);
    }
  }
  return { file, exists: info !== undefined };
}

/** What keeps the existing `file` from being read as it is (undefined: a current store); other failures throw. */
async function schemaProblem(path: string, file: string): Promise<SqliteSchemaError | undefined> {
  const { createSqliteStore, SqliteSchemaError } = await loadSqliteAdapter();
  try {
    await createSqliteStore({ path: file, readonly: true }).close();
    return undefined;
  } catch (error) {
    if (error instanceof SqliteSchemaError) return error;
    throw openError(path, error);
  }
}

async function open(path: string, create: () => GraphStore): Promise<GraphStore> {
  let store: GraphStore;
  try {
    store = create();
    // Opening may be lazy: a cheap read makes a bad file fail here, not mid-sync.
    await store.syncHistory({ limit: 1 });
  } catch (error) {
    throw openError(path, error);
  }
  return store;
}

/** The one-line CliError (exit 2) for a store that cannot be opened, in the words of `path` as the user gave it. */
function openError(path: string, error: unknown): CliError {
  // Duck-typed: the adapter's SqliteSchemaError class is only loaded on demand.
  const { problem, version } = error as Partial<Pick<SqliteSchemaError, 'problem' | 'version'>>;
  switch (problem) {
    case 'empty':
      return new CliError(`${path} is not a parallax-edge store (it is empty); "parallax-edge sync --store ${path}" creates one`);
    case 'not-sqlite':
      return new CliError(`${path} is not a parallax-edge store: it is not a SQLite database`);
    case 'foreign':
      return new CliError(`${path} is not a parallax-edge store: it is a SQLite database without the parallax-edge schema`);
    case 'older':
      return new CliError(
        `store ${path} has schema version ${version} and this parallax-edge reads version ${SCHEMA_VERSION}; ` +
          `run "parallax-edge migrate --store ${path}" (or a sync into it) to upgrade it`,
      );
    case 'newer':
      return new CliError(
        `store ${path} has schema version ${version}, newer than this parallax-edge reads (version ${SCHEMA_VERSION}); upgrade parallax-edge to use it`,
      );
  }
  // A WAL database is read through its -shm index, which SQLite creates beside it.
  if ((error as { cause?: { code?: unknown } }).cause?.code === 'SQLITE_READONLY_DIRECTORY') {
    return new CliError(`cannot read store ${path}: its directory is not writable, and SQLite must create ${path}-shm there to read a WAL database`);
  }
  return new CliError(`cannot open store ${path}: ${oneLine(error)}`);
}

/** Imported on demand: better-sqlite3 is an optional peer dependency, and --help should not load it. */
async function loadSqliteAdapter(): Promise<typeof import('../adapters/sqlite.js')> {
  try {
    return await import('../adapters/sqlite.js');
  } catch (error) {
    const message = oneLine(error);
    if (/better-sqlite3/.test(message)) {
      throw new CliError(`the SQLite store needs the better-sqlite3 package: npm install better-sqlite3 (${message})`);
    }
    throw new CliError(`cannot load the SQLite adapter: ${message}`);
  }
}

/**
 * `mkdir -p`, one level at a time. Node's `mkdir(..., { recursive: true })`
 * never settles for some paths it cannot create (under /proc, for one).
 */
async function makeDirectories(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (info) {
      if (!info.isDirectory()) throw Object.assign(new Error(`${current} is not a directory`), { code: 'ENOTDIR' });
      break;
    }
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const path of missing) {
    await mkdir(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}

function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory';
    case 'ENOENT':
      return 'a directory on the path cannot be created';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'EEXIST':
      return 'a file is in the way of a directory';
    default:
      return oneLine(error);
  }
}
