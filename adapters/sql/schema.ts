/**
 * The SQL schema shared by the SQLite and D1 adapters, as an ordered list of
 * versioned migrations. `schema_migrations` records which versions a database
 * has; {@link migrationStatements} gives what to run to bring it up to date.
 *
 * D1: `workers/migrations/NNNN_<name>.sql` can be generated from
 * {@link MIGRATIONS} with {@link migrationSql}; those files also record the
 * version in `schema_migrations`, so a database migrated by wrangler and one
 * migrated by the SQLite adapter look the same.
 */
import { GUARD_CODES, GUARD_CODES_V1, GUARD_MESSAGE_PREFIX } from './guard.js';
import { statement, type SqlStatement } from './statement.js';

export interface Migration {
  /** 1, 2, 3, ... without gaps. */
  readonly version: number;
  /** snake_case, used in file names. */
  readonly name: string;
  /** DDL, one statement per entry, without trailing semicolons. */
  readonly statements: readonly string[];
}

/** The staging tables of migration 2, as it was written (migration 5 replaces them). */
// prettier-ignore
const STAGING_TABLES_V1: readonly string[] = [
      // One row per commit in progress (or crashed: +P4, removed by the next commit).
      `CREATE TABLE IF NOT EXISTS staged_commits (
        token TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        sync_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        failed_steps TEXT NOT NULL,
        kept_steps TEXT NOT NULL,
        entity_count INTEGER NOT NULL,
        relationship_count INTEGER NOT NULL,
        staged_at TEXT NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS staged_entities (
        token TEXT NOT NULL,
        id TEXT NOT NULL,
        ord INTEGER NOT NULL,
        entity_type TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        entity_class TEXT NOT NULL,
        display_name TEXT NOT NULL,
        properties TEXT NOT NULL,
        hash TEXT NOT NULL,
        step_id TEXT NOT NULL,
        PRIMARY KEY (token, id)
      )`,
      // endpoints_staged: endpoints known to be in this batch, 1 = from, 2 = to
    // (set by the stager from the batch itself); INV-C04 looks the others up.
    `CREATE TABLE IF NOT EXISTS staged_relationships (
        token TEXT NOT NULL,
        id TEXT NOT NULL,
        ord INTEGER NOT NULL,
        from_id TEXT NOT NULL,
        to_id TEXT NOT NULL,
        from_type TEXT NOT NULL,
        from_key TEXT NOT NULL,
        verb TEXT NOT NULL,
        to_type TEXT NOT NULL,
        to_key TEXT NOT NULL,
        properties TEXT NOT NULL,
        hash TEXT NOT NULL,
        step_id TEXT NOT NULL,
        endpoints_staged INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (token, id)
      )`,
      // The diff's delete sets, materialized before the graph changes.
      `CREATE TABLE IF NOT EXISTS staged_entity_deletes (
        token TEXT NOT NULL,
        id TEXT NOT NULL,
        PRIMARY KEY (token, id)
      )`,
      `CREATE TABLE IF NOT EXISTS staged_relationship_deletes (
        token TEXT NOT NULL,
        id TEXT NOT NULL,
        cascaded INTEGER NOT NULL,
        PRIMARY KEY (token, id)
      )`,
];

/**
 * The staging tables of a sync in progress as migration 5 wrote them, keyed
 * by the sync's token. Readers never look at them. Its row tables kept
 * their rowid (a key index beside the rows); migration 7 clusters them by
 * their key ({@link STAGING_TABLES}).
 */
// prettier-ignore
const STAGING_TABLES_V5: readonly string[] = [
  // One row per sync staging (or crashed: +P4, removed once older than the lease).
  // units_read: the scope's write count when its units were read (a matched unit is stale once it moves).
  `CREATE TABLE IF NOT EXISTS staged_syncs (
    token TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    sync_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    verify INTEGER NOT NULL,
    units_read INTEGER,
    staged_at TEXT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS staged_entities (
    token TEXT NOT NULL,
    id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    entity_type TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    entity_class TEXT NOT NULL,
    display_name TEXT NOT NULL,
    properties TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (token, id)
  )`,
  // page: the step's page that staged the row (a page run again drops its earlier rows first);
  // ord: where the relationship was emitted (PreparedRelationship.ord), for the INV-C04 report.
  `CREATE TABLE IF NOT EXISTS staged_relationships (
    token TEXT NOT NULL,
    id TEXT NOT NULL,
    ord INTEGER NOT NULL,
    step_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    from_id TEXT NOT NULL,
    to_id TEXT NOT NULL,
    from_type TEXT NOT NULL,
    from_key TEXT NOT NULL,
    verb TEXT NOT NULL,
    to_type TEXT NOT NULL,
    to_key TEXT NOT NULL,
    properties TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (token, id)
  )`,
  // The sync's units: a new one with its ids (JSON), or a stored one it matched (ids NULL);
  // expanded: a matched unit's rows are in staged_confirmed.
  `CREATE TABLE IF NOT EXISTS staged_units (
    token TEXT NOT NULL,
    kind TEXT NOT NULL,
    digest TEXT NOT NULL,
    step_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    ids TEXT,
    expanded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (token, kind, digest)
  ) WITHOUT ROWID`,
  // Rows of matched units, when something needs them one by one (prior reads, a commit that is not unchanged).
  `CREATE TABLE IF NOT EXISTS staged_confirmed (
    token TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    PRIMARY KEY (token, kind, id)
  ) WITHOUT ROWID`,
  // The diff's delete sets, materialized before the graph changes.
  `CREATE TABLE IF NOT EXISTS staged_entity_deletes (
    token TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (token, id)
  ) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS staged_relationship_deletes (
    token TEXT NOT NULL,
    id TEXT NOT NULL,
    cascaded INTEGER NOT NULL,
    PRIMARY KEY (token, id)
  ) WITHOUT ROWID`,
];

/** Migration 5's staged row tables, which migration 7 replaces. */
const STAGED_ROW_TABLES = ['staged_entities', 'staged_relationships'];
const isStagedRowTable = (sql: string): boolean => STAGED_ROW_TABLES.some((t) => sql.startsWith(`CREATE TABLE IF NOT EXISTS ${t} (`));

/**
 * The staging tables of a sync in progress (migration 7; also created as
 * TEMP tables by {@link tempStagingStatements}, where SQLite stages). The
 * row tables are b-trees of whole rows in (token, id) order (WITHOUT
 * ROWID): the commit reads them in key order, and with a key index beside
 * the rows every read was a random row fetch (the promote of 307k rows
 * took 12.4 s so, 4.1 s clustered, on better-sqlite3). Their staging
 * inserts land in random key order, spread over the sync's steps.
 */
const STAGING_TABLES: readonly string[] = STAGING_TABLES_V5.map((sql) => (isStagedRowTable(sql) ? `${sql} WITHOUT ROWID` : sql));

/** The staging tables' names, for cleanups. */
export const STAGING_TABLE_NAMES = STAGING_TABLES.map((sql) => /CREATE TABLE IF NOT EXISTS (\w+)/.exec(sql)![1]!);

/** Trigger condition: no commit is promoting in this transaction or batch. */
const OUTSIDE_COMMITS = 'NOT EXISTS (SELECT 1 FROM commits_in_progress)';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'graph',
    statements: [
      `CREATE TABLE IF NOT EXISTS entities (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        sync_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        entity_type TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        entity_class TEXT NOT NULL,
        display_name TEXT NOT NULL,
        properties TEXT NOT NULL,
        hash TEXT NOT NULL
      )`,
      // A connector's scope (diff, +P1 kept steps) and the list filters. The
      // scope index ends with id so the diff's scope scans never read the rows.
      `CREATE INDEX IF NOT EXISTS entities_scope ON entities (account_id, connector_id, step_id, id)`,
      `CREATE INDEX IF NOT EXISTS entities_type ON entities (entity_type, id)`,
      `CREATE INDEX IF NOT EXISTS entities_class ON entities (entity_class, id)`,
      `CREATE TABLE IF NOT EXISTS relationships (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        sync_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        from_id TEXT NOT NULL,
        to_id TEXT NOT NULL,
        from_type TEXT NOT NULL,
        from_key TEXT NOT NULL,
        verb TEXT NOT NULL,
        to_type TEXT NOT NULL,
        to_key TEXT NOT NULL,
        properties TEXT NOT NULL,
        hash TEXT NOT NULL
      )`,
      `CREATE INDEX IF NOT EXISTS relationships_scope ON relationships (account_id, connector_id, step_id, id)`,
      // INV-03 cascade and "relationships of an entity".
      `CREATE INDEX IF NOT EXISTS relationships_from ON relationships (from_id)`,
      `CREATE INDEX IF NOT EXISTS relationships_to ON relationships (to_id)`,
      `CREATE INDEX IF NOT EXISTS relationships_verb ON relationships (verb, id)`,
      `CREATE TABLE IF NOT EXISTS sync_runs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        sync_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        committed_at TEXT NOT NULL,
        failed_steps TEXT NOT NULL,
        kept_steps TEXT NOT NULL,
        entities_created INTEGER NOT NULL,
        entities_updated INTEGER NOT NULL,
        entities_unchanged INTEGER NOT NULL,
        entities_deleted INTEGER NOT NULL,
        entities_kept INTEGER NOT NULL,
        relationships_created INTEGER NOT NULL,
        relationships_updated INTEGER NOT NULL,
        relationships_unchanged INTEGER NOT NULL,
        relationships_deleted INTEGER NOT NULL,
        relationships_cascaded INTEGER NOT NULL,
        relationships_kept INTEGER NOT NULL,
        UNIQUE (account_id, sync_id)
      )`,
      `CREATE INDEX IF NOT EXISTS sync_runs_connector ON sync_runs (connector_id, seq)`,
    ],
  },
  {
    version: 2,
    name: 'staging',
    statements: [
      ...STAGING_TABLES_V1,
      // Guards: inserting a row aborts the statement, hence the transaction or
      // D1 batch. The message is fixed; `guardFailure` maps it to an error code.
      `CREATE TABLE IF NOT EXISTS commit_guards (code TEXT NOT NULL)`,
      ...guardTriggers(GUARD_CODES_V1),
    ],
  },
  {
    version: 3,
    name: 'scope_state',
    statements: [
      // Per connector scope: `writes` counts writes to the scope's rows by
      // anyone but the scope's own commits (see scope.ts): rows taken over or
      // cascaded by other connectors' commits, edits by hand. `digest` is the
      // digest of the scope's rows as its last commit left them, valid while
      // `writes` still equals `digest_writes`. A batch with that digest is an
      // unchanged re-sync that needs no staging (+P2).
      `CREATE TABLE IF NOT EXISTS scope_state (
        account_id TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        writes INTEGER NOT NULL,
        digest TEXT,
        digest_writes INTEGER,
        PRIMARY KEY (account_id, connector_id)
      )`,
      // A row while a commit promotes (its own transaction or batch only):
      // commits count their writes set-wise, so the triggers stand aside.
      `CREATE TABLE IF NOT EXISTS commits_in_progress (token TEXT PRIMARY KEY NOT NULL)`,
      ...(['entities', 'relationships'] as const).flatMap((table) => [
        `CREATE TRIGGER IF NOT EXISTS ${table}_scope_insert AFTER INSERT ON ${table} WHEN ${OUTSIDE_COMMITS}
         BEGIN ${bumpScope('NEW')} END`,
        `CREATE TRIGGER IF NOT EXISTS ${table}_scope_update AFTER UPDATE ON ${table} WHEN ${OUTSIDE_COMMITS}
         BEGIN ${bumpScope('OLD')} ${bumpScope('NEW')} END`,
        `CREATE TRIGGER IF NOT EXISTS ${table}_scope_delete AFTER DELETE ON ${table} WHEN ${OUTSIDE_COMMITS}
         BEGIN ${bumpScope('OLD')} END`,
      ]),
    ],
  },
  {
    version: 4,
    name: 'scope_input_digest',
    statements: [
      // The `inputDigest` of the output the scope's last full commit was
      // prepared from, valid under the same condition as `digest`: an equal
      // output is an unchanged re-sync that needs no preparing either (+P2).
      `ALTER TABLE scope_state ADD COLUMN input_digest TEXT`,
    ],
  },
  {
    version: 5,
    name: 'streaming',
    statements: [
      // Hand edits to the graph tables are no longer counted (README: they are
      // not supported; a verify sync restores them), so commits write without triggers.
      ...(['entities', 'relationships'] as const).flatMap((table) =>
        ['insert', 'update', 'delete'].map((op) => `DROP TRIGGER IF EXISTS ${table}_scope_${op}`),
      ),
      `DROP TABLE IF EXISTS commits_in_progress`,
      // Staging of a sync in progress, replacing migration 2's (they hold nothing between syncs).
      ...['staged_commits', 'staged_entities', 'staged_relationships', 'staged_entity_deletes', 'staged_relationship_deletes'].map(
        (table) => `DROP TABLE IF EXISTS ${table}`,
      ),
      ...STAGING_TABLES_V5,
      // Per connector scope: `writes` counts writes to its rows by other
      // connectors' commits (takeovers, INV-03 cascades); `units_writes` is the
      // count when its last full commit recorded its units, which stand for
      // its rows while the two are equal (NULL: unknown).
      `DROP TABLE IF EXISTS scope_state`,
      `CREATE TABLE IF NOT EXISTS scope_state (
        account_id TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        writes INTEGER NOT NULL DEFAULT 0,
        units_writes INTEGER,
        PRIMARY KEY (account_id, connector_id)
      )`,
      // The units of each scope's last full commit: a run of one step's records with its input digest, and its rows' ids (JSON).
      `CREATE TABLE IF NOT EXISTS scope_units (
        account_id TEXT NOT NULL,
        connector_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        digest TEXT NOT NULL,
        step_id TEXT NOT NULL,
        ids TEXT NOT NULL,
        PRIMARY KEY (account_id, connector_id, kind, digest)
      ) WITHOUT ROWID`,
      `CREATE INDEX IF NOT EXISTS scope_units_step ON scope_units (account_id, connector_id, step_id, kind)`,
      `DROP TRIGGER IF EXISTS commit_guard_other`,
      ...guardTriggers(GUARD_CODES),
    ],
  },
  {
    version: 6,
    name: 'query_indexes',
    statements: [
      // PQL steps (adapters/sql/query.ts) go from an entity through its
      // relationships of one verb to an other end of one type: covering
      // indexes in both directions. They start with the endpoint, so they
      // replace the endpoint-only indexes (the INV-03 cascade uses them too).
      `CREATE INDEX IF NOT EXISTS relationships_from_verb ON relationships (from_id, verb, to_type, to_id)`,
      `CREATE INDEX IF NOT EXISTS relationships_to_verb ON relationships (to_id, verb, from_type, from_id)`,
      `DROP INDEX IF EXISTS relationships_from`,
      `DROP INDEX IF EXISTS relationships_to`,
      // A query in one account starts from its entities of a type or class.
      `CREATE INDEX IF NOT EXISTS entities_account_type ON entities (account_id, entity_type, id)`,
      `CREATE INDEX IF NOT EXISTS entities_account_class ON entities (account_id, entity_class, id)`,
    ],
  },
  {
    version: 7,
    name: 'clustered_staging',
    statements: [
      // The staged row tables, clustered by their key (see STAGING_TABLES). A
      // sync staging while this runs loses its rows: its commit then fails
      // StagingIncomplete and changes nothing; its next run stages afresh.
      ...STAGED_ROW_TABLES.map((table) => `DROP TABLE IF EXISTS ${table}`),
      ...STAGING_TABLES.filter(isStagedRowTable),
    ],
  },
  {
    version: 8,
    name: 'matched_units_index',
    statements: [matchedUnitsIndex('')],
  },
];

/**
 * The sync's matched units (ids NULL), which the commit and prior reads
 * look up set-wise (`matchedUnitsStatement`, `expandStatements`). Without
 * it each lookup read every staged unit, ids and all, to find them (a first
 * sync has none: 1.1 s of a SQLite commit at 1M rows); partial, so a staged
 * unit with ids costs it nothing. `schema`: `temp.` for SQLite's TEMP staging.
 */
function matchedUnitsIndex(schema: '' | 'temp.'): string {
  return `CREATE INDEX IF NOT EXISTS ${schema}staged_units_matched ON staged_units (token, expanded) WHERE ids IS NULL`;
}

/** A trigger per guard code that aborts with its message, and one that aborts for any other code. */
function guardTriggers(codes: readonly string[]): string[] {
  return [
    ...codes.map(
      (code) => `CREATE TRIGGER IF NOT EXISTS commit_guard_${code} BEFORE INSERT ON commit_guards WHEN NEW.code = '${code}'
         BEGIN SELECT RAISE(ABORT, '${GUARD_MESSAGE_PREFIX}${code}'); END`,
    ),
    // A code without its own trigger must still abort.
    `CREATE TRIGGER IF NOT EXISTS commit_guard_other BEFORE INSERT ON commit_guards WHEN NEW.code NOT IN (${codes.map((c) => `'${c}'`).join(', ')})
       BEGIN SELECT RAISE(ABORT, '${GUARD_MESSAGE_PREFIX}unknown'); END`,
  ];
}

/** Trigger body statement: one more write to the scope of the `NEW` or `OLD` row. */
function bumpScope(row: 'NEW' | 'OLD'): string {
  return `INSERT INTO scope_state (account_id, connector_id, writes) VALUES (${row}.account_id, ${row}.connector_id, 1)
           ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1;`;
}

/**
 * DDL for the staging tables as connection-local TEMP tables (the shape of
 * migration 5's), for SQLite: they shadow the tables of the same name in the
 * database file, so the same statements stage into them. Run once per
 * connection; safe to run again.
 */
export function tempStagingStatements(): SqlStatement[] {
  return STAGING_TABLES.map((sql) => {
    const table = /CREATE TABLE IF NOT EXISTS (\w+)/.exec(sql)![1]!;
    const key = TEMP_UNKEYED[table];
    let temp = sql.replace(/^CREATE TABLE IF NOT EXISTS /, 'CREATE TEMP TABLE IF NOT EXISTS ');
    // The row and unit tables stage as plain rowid tables without their key: TEMP_STAGING_KEYS builds it,
    // sorted, when something first looks rows up (in-process, one INSERT per row, that is cheaper).
    if (key) temp = temp.replace(`,\n    PRIMARY KEY (${key})\n  ) WITHOUT ROWID`, '\n  )');
    return statement('stage', temp);
  }).concat(statement('stage', matchedUnitsIndex('temp.')));
}


/** The TEMP staging tables that stage without their key, and its columns. */
const TEMP_UNKEYED: Readonly<Record<string, string>> = {
  staged_entities: 'token, id',
  staged_relationships: 'token, id',
  staged_units: 'token, kind, digest',
};

/**
 * The keys of the TEMP tables that {@link tempStagingStatements} leaves
 * out: SQLite builds one in a sort when prior reads or the commit first
 * need it, instead of updating it for every staged row. Unique, as in
 * migration 5.
 */
export const TEMP_STAGING_KEYS: readonly { readonly table: string; readonly create: string; readonly drop: string }[] = Object.entries(TEMP_UNKEYED).map(
  ([table, key]) => ({
    table,
    create: `CREATE UNIQUE INDEX IF NOT EXISTS temp.${table}_key ON ${table} (${key})`,
    drop: `DROP INDEX IF EXISTS temp.${table}_key`,
  }),
);

/** The `sync_runs` columns a commit writes, in the order its INSERTs give them (`commit.ts`, `scope.ts`). */
export const SYNC_RUN_COLUMNS = `(account_id, connector_id, sync_id, started_at, finished_at, committed_at, failed_steps, kept_steps,
  entities_created, entities_updated, entities_unchanged, entities_deleted, entities_kept,
  relationships_created, relationships_updated, relationships_unchanged, relationships_deleted,
  relationships_cascaded, relationships_kept)`;

/** The schema version this code reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * Why this code cannot use a database at schema `version` (undefined when
 * it has no `schema_migrations`): `foreign` (not a parallax-edge store, or
 * never migrated), `older` (migrations pending), `newer` (written by a newer
 * parallax-edge). Undefined when the versions agree.
 */
export type SchemaProblem = 'foreign' | 'older' | 'newer';

export function schemaProblem(version: number | undefined): SchemaProblem | undefined {
  if (version === undefined || !Number.isSafeInteger(version)) return 'foreign';
  if (version < SCHEMA_VERSION) return 'older';
  if (version > SCHEMA_VERSION) return 'newer';
  return undefined;
}

/** Creates the version table; safe to run every time. */
export const CREATE_MIGRATIONS_TABLE = statement(
  'stage',
  `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`,
);

/** One row, `version`: the highest applied version, null on a new database. */
export const CURRENT_VERSION_QUERY = statement('read', `SELECT MAX(version) AS version FROM schema_migrations`);

/** Does `schema_migrations` exist? One row, `present`: 0 or 1 (for read-only opens). */
export const MIGRATIONS_TABLE_QUERY = statement(
  'read',
  `SELECT COUNT(*) AS present FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`,
);

/**
 * What to run, in one transaction, to bring a database at `currentVersion`
 * (0 or null for a new one) to {@link SCHEMA_VERSION}. Each migration's DDL is
 * followed by the insert that records it. Empty when up to date.
 * Throws a RangeError for a database newer than this code.
 */
export function migrationStatements(currentVersion: number | null, appliedAt: string): SqlStatement[] {
  const current = currentVersion ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new RangeError(`database schema version ${current} is newer than this parallax-edge (version ${SCHEMA_VERSION})`);
  }
  return MIGRATIONS.filter((m) => m.version > current).flatMap((m) => [
    ...m.statements.map((sql) => statement('stage', sql)),
    statement('stage', `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)`, [m.version, m.name, appliedAt]),
  ]);
}

/** A migration as a `.sql` file, for `wrangler d1 migrations` (D1). */
export function migrationSql(migration: Migration): string {
  const lines = migration.statements.map((sql) => `${sql.replace(/\n {6}/g, '\n  ').trim()};`);
  lines.push(
    `INSERT INTO schema_migrations (version, name, applied_at) VALUES (${migration.version}, '${migration.name}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));`,
  );
  if (migration.version === 1) lines.unshift(`${CREATE_MIGRATIONS_TABLE.sql};`);
  return `-- parallax-edge schema migration ${migration.version}: ${migration.name}\n${lines.join('\n')}\n`;
}
