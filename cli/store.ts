/** Opening the CLI's SQLite store, with one-line errors for paths that cannot be used. */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import type { GraphStore } from '../src/index.js';
import { CliError, oneLine } from './errors.js';

export const DEFAULT_STORE_PATH = './data/parallax.db';
export const MEMORY_STORE_PATH = ':memory:';


export interface OpenOptions {
  readonly cwd: string;
  /** Create the file and its directory if missing (sync); otherwise the store must exist (reads). */
  readonly create: boolean;
}

/**
 * Opens the SQLite store at `path` (relative to `cwd`), or an in-memory one
 * for `:memory:`. Throws a CliError (exit 2) naming the path when the
 * directory cannot be created, the file cannot be opened or, for reads, does
 * not exist.
 */
export async function openStore(path: string, options: OpenOptions): Promise<GraphStore> {
  const file = path === MEMORY_STORE_PATH ? path : resolvePath(options.cwd, path);
  if (file !== MEMORY_STORE_PATH) {
    const info = await stat(file).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : error));
    if (info instanceof Error) throw new CliError(`cannot use store path ${path}: ${describeFsError(info)}`);
    if (info?.isDirectory()) throw new CliError(`store path ${path} is a directory; pass a file path such as ${path}/parallax.db`);
    if (!info && !options.create) {
      throw new CliError(`no store at ${path}; run "parallax-edge sync" first, or pass --store PATH`);
    }
    if (!info) {
      try {
        await makeDirectories(dirname(file));
      } catch (error) {
        throw new CliError(`cannot create store directory for ${path}: ${describeFsError(error)}`);
      }
    }
  }

  const { createSqliteStore } = await loadSqliteAdapter();
  let store: GraphStore;
  try {
    store = createSqliteStore(file);
    // Opening may be lazy: a cheap read makes a bad file fail here, not mid-sync.
    await store.syncHistory({ limit: 1 });
  } catch (error) {
    throw new CliError(`cannot open store ${path}: ${oneLine(error)}`);
  }
  return store;
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
