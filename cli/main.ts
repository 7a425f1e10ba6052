/**
 * The `parallax-edge` command line: runs connector modules into an embedded
 * SQLite graph store and reads it back. See `parallax-edge --help` and
 * cli/README.md; exit codes are {@link ExitCode}.
 *
 * Run from the built package (`bin/parallax-edge.js` → `dist/cli/main.js`) or
 * from sources with `tsx cli/main.ts ...`.
 */
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, ExitCode, Interrupt, oneLine } from './errors.js';
import { printable } from './format.js';
import { findPackageRoot } from './load-connector.js';
import { migrateCommand } from './migrate.js';
import { entitiesCommand, statsCommand, syncsCommand } from './queries.js';
import { queryCommand } from './query.js';
import { DEFAULT_STORE_PATH } from './store.js';
import { syncCommand, type CommandIO, type Output } from './sync.js';

export { ExitCode, CliError } from './errors.js';

const DEFAULT_ACCOUNT = 'default';

const EXIT_CODES = `Exit codes:
  0    success
  1    sync failed: the commit was refused (a dangling relationship, a reused
       sync id, a store failure) or the run broke; nothing was committed
  2    usage error: unknown command or option, bad option value, missing or
       invalid config file, connector module missing, broken or not a
       connector, unusable store path; for reads and migrate also a store
       that is missing, not a parallax-edge store or at another schema
       version; nothing ran
  3    partial sync: the commit succeeded but one or more steps failed; the
       rows those steps and their dependents last wrote were kept
  130  interrupted (Ctrl-C) before the commit; nothing was committed
  143  terminated (SIGTERM) before the commit; nothing was committed`;

const HELP = {
  main: `parallax-edge: run Parallax connectors into an embedded SQLite graph store

Usage:
  parallax-edge sync <connector-module> [options]   run a connector, commit its data
  parallax-edge stats [options]                     entity counts by class, relationships by verb
  parallax-edge entities (--type T | --class C) [options]
                                                    list stored entities, a page at a time
  parallax-edge syncs [options]                     sync history with stats
  parallax-edge query "<pql>" [options]             a PQL graph query (README: Graph queries)
  parallax-edge migrate [--store PATH]              upgrade a store to this version's schema
  parallax-edge help [command]                      help for a command
  parallax-edge --version

Options of every command:
  --store PATH     SQLite file (default ${DEFAULT_STORE_PATH}; ":memory:" for a
                   throw-away store)
  -h, --help       help for the command

${EXIT_CODES}`,
  sync: `Usage: parallax-edge sync <connector-module> [options]

Runs the connector exported by <connector-module> (a .js, .mjs, .cjs, .ts, .mts
or .tsx file) and commits what it emitted into the store: rows it no longer
emits are deleted, rows of failed steps are kept, an unchanged re-sync writes
nothing.

The module's default export, or its only connector-like named export, is a
Connector object, a Connector class (constructed with the config), or a factory
(config) => Connector | Promise<Connector>.

Options:
  --store PATH        SQLite file, created with its directory if missing
                      (default ${DEFAULT_STORE_PATH})
  --account ID        account (tenant) the data belongs to (default "${DEFAULT_ACCOUNT}")
  --config FILE       JSON file passed to the factory or constructor (default {})
  --export NAME       take the connector from this export
  --sync-id ID        id of this sync (default: sync-<UTC timestamp>-<random>)
  --strict            refuse records with unknown classes or verbs instead of warning
  --concurrency N     run at most N steps at once (default: unlimited)
  --verify            compare every row with the store's columns instead of
                      trusting what the last sync recorded: rewrites rows
                      edited by hand (slower: as much work as a first sync)
  -h, --help          this help

Rows are staged in the store as the connector emits them, so memory stays
bounded whatever the size of the sync; nothing is visible until the commit.
Progress goes to stderr (redrawn in place on a terminal); the stats table and
the failed steps go to stdout.

${EXIT_CODES}`,
  stats: `Usage: parallax-edge stats [--store PATH] [--account ID] [--json]

Counts of stored entities by class and relationships by verb.

Options:
  --store PATH     SQLite file (default ${DEFAULT_STORE_PATH})
  --account ID     only this account (default: all accounts)
  --json           print JSON
  -h, --help       this help

Exit codes: 0 success, 2 usage error, or no store at PATH (or one that needs
"parallax-edge migrate").`,
  entities: `Usage: parallax-edge entities (--type T | --class C) [options]

Lists stored entities ordered by id, a page at a time.

Options:
  --type T         entities of this type (e.g. github_user)
  --class C        entities of this class (e.g. User)
  --connector ID   only rows last written by this connector
  --limit N        page size, 1 to 1000 (default 100)
  --cursor C       continue after a previous page (printed under it)
  --store PATH     SQLite file (default ${DEFAULT_STORE_PATH})
  --account ID     only this account (default: all accounts)
  --json           print JSON: { items, nextCursor }
  -h, --help       this help

Exit codes: 0 success, 2 usage error, bad cursor, or no store at PATH (or one
that needs "parallax-edge migrate").`,
  syncs: `Usage: parallax-edge syncs [--limit N] [--connector ID] [--account ID] [--store PATH] [--json]

Committed syncs, newest first, with what each changed.

Options:
  --limit N        at most N syncs (default 50)
  --connector ID   only this connector's syncs
  --account ID     only this account (default: all accounts)
  --store PATH     SQLite file (default ${DEFAULT_STORE_PATH})
  --json           print JSON
  -h, --help       this help

Exit codes: 0 success, 2 usage error, or no store at PATH (or one that needs
"parallax-edge migrate").`,
  query: `Usage: parallax-edge query "<pql>" [--account ID] [--limit N] [--cursor C] [--store PATH] [--json]

Runs a PQL query on the store, e.g.
  parallax-edge query "FIND host THAT !PROTECTS edr_agent"
  parallax-edge query "FIND github_repo WITH visibility = 'public' AND archived = false"
  parallax-edge query "FIND BLAST RADIUS FROM host WITH _key = 'web-01' DEPTH 4"
The grammar, directions and null semantics are in the README ("Graph queries").

Options:
  --account ID     only this account's entities (default: all accounts)
  --limit N        FIND matches per page, 1 to 10000 (default 10000)
  --cursor C       continue after a previous page (printed under it)
  --store PATH     SQLite file (default ${DEFAULT_STORE_PATH})
  --json           print the whole result as JSON: { kind, count, entities,
                   groups, rows, path, layers, nextCursor }
  -h, --help       this help

Exit codes: 0 success; 1 the query hit a limit (time, entities scanned,
results) or the store failed; 2 a syntax error (shown with a caret under its
position), a usage error, a bad cursor, or no store at PATH (or one that needs
"parallax-edge migrate").`,
  migrate: `Usage: parallax-edge migrate [--store PATH]

Upgrades an existing store to the schema version of this parallax-edge (a sync
does it too). Reads never migrate: they ask for this instead.

Options:
  --store PATH     SQLite file (default ${DEFAULT_STORE_PATH})
  -h, --help       this help

Exit codes: 0 migrated or already current, 2 usage error, no store at PATH,
not a parallax-edge store, or a store newer than this parallax-edge.`,
} as const;

type Command = keyof typeof HELP & string;
const COMMANDS = ['sync', 'stats', 'entities', 'syncs', 'query', 'migrate'] as const;

type Options = NonNullable<ParseArgsConfig['options']>;
const storeOnly: Options = {
  store: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};
const common: Options = { ...storeOnly, account: { type: 'string' } };
const OPTIONS: Record<(typeof COMMANDS)[number], Options> = {
  sync: {
    ...common,
    config: { type: 'string' },
    export: { type: 'string' },
    'sync-id': { type: 'string' },
    strict: { type: 'boolean' },
    verify: { type: 'boolean' },
    concurrency: { type: 'string' },
  },
  stats: { ...common, json: { type: 'boolean' } },
  entities: {
    ...common,
    type: { type: 'string' },
    class: { type: 'string' },
    connector: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    json: { type: 'boolean' },
  },
  syncs: { ...common, connector: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  query: { ...common, limit: { type: 'string' }, cursor: { type: 'string' }, json: { type: 'boolean' } },
  migrate: storeOnly,
};

export interface MainIO extends Omit<CommandIO, 'signal'> {
  readonly signal?: AbortSignal;
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and resolves to the
 * exit code. Errors are printed as one line on stderr; nothing is thrown.
 */
export async function main(argv: readonly string[], io: MainIO = processIO()): Promise<ExitCode> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`parallax-edge: ${printable(error.message)}\n${error.detail === undefined ? '' : `${error.detail}\n`}`);
      return error.exitCode;
    }
    io.stderr.write(`parallax-edge: unexpected error: ${printable(oneLine(error))}\n`);
    if (process.env.PARALLAX_EDGE_DEBUG) io.stderr.write(`${String((error as Error)?.stack ?? '').split('\n').map(printable).join('\n')}\n`);
    return ExitCode.SyncFailed;
  }
}

async function dispatch(argv: readonly string[], io: MainIO): Promise<ExitCode> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(`${HELP.main}\n`);
    return ExitCode.Usage;
  }
  if (first === '-h' || first === '--help') {
    io.stdout.write(`${HELP.main}\n`);
    return ExitCode.Success;
  }
  if (first === '--version' || first === '-v') {
    const root = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
    io.stdout.write(`${root?.version ?? 'unknown'}\n`);
    return ExitCode.Success;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) io.stdout.write(`${HELP.main}\n`);
    else if (isCommand(topic)) io.stdout.write(`${HELP[topic]}\n`);
    else throw new CliError(`unknown command "${topic}"; commands: ${COMMANDS.join(', ')}`);
    return ExitCode.Success;
  }
  if (first.startsWith('-')) {
    throw new CliError(`unknown option ${first}; put options after the command (see parallax-edge --help)`);
  }
  if (!isCommand(first)) {
    throw new CliError(`unknown command "${first}"; commands: ${COMMANDS.join(', ')} (see parallax-edge --help)`);
  }

  const { values, positionals } = parse(first, rest);
  if (values.help) {
    io.stdout.write(`${HELP[first]}\n`);
    return ExitCode.Success;
  }
  const store = stringOption(values, 'store') ?? DEFAULT_STORE_PATH;
  if (store.length === 0) throw new CliError('--store needs a non-empty path');
  const account = stringOption(values, 'account');
  if (account !== undefined && account.length === 0) throw new CliError('--account needs a non-empty id');
  const json = values.json === true;

  switch (first) {
    case 'sync': {
      if (positionals.length === 0) throw new CliError('sync needs a connector module: parallax-edge sync <connector-module>');
      if (positionals.length > 1) throw new CliError(`sync takes one connector module, got ${positionals.length}: ${positionals.join(' ')}`);
      const syncId = stringOption(values, 'sync-id');
      if (syncId !== undefined && syncId.length === 0) throw new CliError('--sync-id needs a non-empty id');
      const concurrency = integerOption(values, 'concurrency', 1);
      const config = stringOption(values, 'config');
      const exportName = stringOption(values, 'export');
      return syncCommand(
        {
          module: positionals[0]!,
          store,
          account: account ?? DEFAULT_ACCOUNT,
          strict: values.strict === true,
          verify: values.verify === true,
          ...(config !== undefined ? { config } : {}),
          ...(syncId !== undefined ? { syncId } : {}),
          ...(exportName !== undefined ? { exportName } : {}),
          ...(concurrency !== undefined ? { concurrency } : {}),
        },
        io,
      );
    }
    case 'stats':
      noPositionals(first, positionals);
      return statsCommand({ store, json, ...(account !== undefined ? { account } : {}) }, io);
    case 'entities': {
      noPositionals(first, positionals);
      const type = stringOption(values, 'type');
      const klass = stringOption(values, 'class');
      if (type === undefined && klass === undefined) throw new CliError('entities needs --type T or --class C (or both)');
      const limit = integerOption(values, 'limit', 1, 1000);
      const cursor = stringOption(values, 'cursor');
      const connector = stringOption(values, 'connector');
      return entitiesCommand(
        {
          store,
          json,
          ...(account !== undefined ? { account } : {}),
          ...(type !== undefined ? { type } : {}),
          ...(klass !== undefined ? { class: klass } : {}),
          ...(limit !== undefined ? { limit } : {}),
          ...(cursor !== undefined ? { cursor } : {}),
          ...(connector !== undefined ? { connector } : {}),
        },
        io,
      );
    }
    case 'syncs': {
      noPositionals(first, positionals);
      const limit = integerOption(values, 'limit', 1, 10_000);
      const connector = stringOption(values, 'connector');
      return syncsCommand(
        {
          store,
          json,
          ...(account !== undefined ? { account } : {}),
          ...(limit !== undefined ? { limit } : {}),
          ...(connector !== undefined ? { connector } : {}),
        },
        io,
      );
    }
    case 'query': {
      if (positionals.length !== 1) throw new CliError(`query takes one PQL query (quote it), got ${positionals.length} arguments: parallax-edge query "FIND host"`);
      const limit = integerOption(values, 'limit', 1, 10_000);
      const cursor = stringOption(values, 'cursor');
      return queryCommand(
        {
          pql: positionals[0]!,
          store,
          json,
          ...(account !== undefined ? { account } : {}),
          ...(limit !== undefined ? { limit } : {}),
          ...(cursor !== undefined ? { cursor } : {}),
        },
        io,
      );
    }
    case 'migrate':
      noPositionals(first, positionals);
      return migrateCommand({ store }, io);
  }
}

function isCommand(name: string): name is (typeof COMMANDS)[number] & Command {
  return (COMMANDS as readonly string[]).includes(name);
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parse(command: (typeof COMMANDS)[number], args: readonly string[]): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: OPTIONS[command],
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Values, positionals };
  } catch (error) {
    throw new CliError(`${describeParseError(error)} (see parallax-edge ${command} --help)`);
  }
}

/** node:util parseArgs messages, reworded to one short line. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/argument missing/.test(message)) return `option ${option} needs a value`;
    if (/does not take an argument/.test(message)) return `option ${option} does not take a value`;
    if (/ambiguous/.test(message)) return `option ${option} needs a value (to pass one starting with "-", write ${option}=VALUE)`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(message)?.[1];
    return `unexpected argument${arg ? ` "${arg}"` : ''}`;
  }
  return oneLine(message.split('. To specify')[0]);
}

function stringOption(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function integerOption(values: Values, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new CliError(`--${name} must be an integer ${range}, got "${raw}"`);
  }
  return n;
}

function noPositionals(command: string, positionals: readonly string[]): void {
  if (positionals.length > 0) throw new CliError(`${command} takes no arguments, got "${positionals.join(' ')}"`);
}

function processIO(): MainIO {
  return { stdout: process.stdout as Output, stderr: process.stderr as Output, cwd: process.cwd() };
}

/**
 * The process entry point: wires SIGINT and SIGTERM to an abort (a second
 * signal exits at once), runs {@link main}, flushes stdout and stderr, and
 * exits with the code, even if a connector left timers or sockets open.
 */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  const controller = new AbortController();
  // SIGTERM too: its default action kills the process with no message and no exit code (service managers, timeout(1)).
  const handlers = {
    SIGINT: () => new Interrupt(ExitCode.Interrupted, 'interrupted'),
    SIGTERM: () => new Interrupt(ExitCode.Terminated, 'terminated (SIGTERM)'),
  } as const;
  const listeners = Object.entries(handlers).map(([signal, interrupt]) => {
    const listener = (): void => {
      if (controller.signal.aborted) process.exit((controller.signal.reason as Interrupt).exitCode);
      controller.abort(interrupt());
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  const code = await main(argv, { ...processIO(), signal: controller.signal });
  for (const [signal, listener] of listeners) process.off(signal, listener);
  await new Promise<void>((done) => process.stdout.write('', () => done()));
  await new Promise<void>((done) => process.stderr.write('', () => done()));
  process.exit(code);
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) void run();
