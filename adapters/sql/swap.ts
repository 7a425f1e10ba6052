/**
 * A commit too big for one atomic unit (D1: a `db.batch()` is atomic and
 * has 30 s): each graph table it changes is built anew beside the graph, in
 * batches of bounded size, and one small batch swaps the built tables in
 * (`ALTER TABLE ... RENAME` is transactional in SQLite). Readers see the
 * graph before the swap or after it, never a table half built (INV-C01).
 *
 * Names: a table being built is `<table>_next_<stamp>`, one swapped out
 * `<table>_old_<stamp>`, with `<stamp>` = `<base-36 ms>_<tag>`. A built
 * table's indexes are named `<migration's index name>__<stamp>`, as SQLite
 * cannot rename an index: code that names a graph index reads the names
 * from `sqlite_master` ({@link canonicalIndexName}).
 */
import type { Row } from './read.js';
import { statement, type SqlStatement, type SqlValue } from './statement.js';
import { upsertSql, type GraphTable } from './sync.js';

const DELETES: Record<GraphTable, string> = { entities: 'staged_entity_deletes', relationships: 'staged_relationship_deletes' };

const quoted = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** A build's stamp: when it started and a tag of its sync (letters and digits of it). */
export function swapStamp(now: number, tag: string): string {
  return `${now.toString(36)}_${tag.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 32)}`;
}

/** An index's name as the migrations gave it. */
export function canonicalIndexName(name: string): string {
  return name.split('__')[0]!;
}

/** Rows `type, name, tbl_name, sql`: the graph tables with their indexes, and the tables of builds. */
export function swapSchemaStatement(): SqlStatement {
  return statement(
    'read',
    `SELECT type, name, tbl_name, sql FROM sqlite_master
     WHERE (tbl_name IN ('entities', 'relationships') AND sql IS NOT NULL)
       OR (type = 'table' AND (name GLOB 'entities_next_*' OR name GLOB 'relationships_next_*'
         OR name GLOB 'entities_old_*' OR name GLOB 'relationships_old_*'))
     ORDER BY type DESC, name`,
  );
}

/** Rows `type, name`: the tables of builds (for {@link leftoverStatements}). */
export function buildTablesStatement(): SqlStatement {
  return statement(
    'read',
    `SELECT type, name FROM sqlite_master WHERE type = 'table' AND (name GLOB 'entities_next_*' OR name GLOB 'relationships_next_*'
       OR name GLOB 'entities_old_*' OR name GLOB 'relationships_old_*')`,
  );
}

/**
 * +P4: drops what builds left behind. A swapped-out table is never read
 * again; a table being built is a leftover once older than `staleBefore`
 * (ms), or when it has this build's tag (an earlier attempt of this sync).
 */
export function leftoverStatements(schema: readonly Row[], staleBefore: number, tag: string): SqlStatement[] {
  const ownTag = swapStamp(0, tag).slice(2);
  return schema
    .filter((r) => r.type === 'table')
    .map((r) => String(r.name))
    .filter((name) => {
      const old = /^(?:entities|relationships)_old_/.exec(name);
      if (old) return true;
      const next = /^(?:entities|relationships)_next_([0-9a-z]+)_([0-9a-z]*)$/.exec(name);
      return next !== null && (parseInt(next[1]!, 36) < staleBefore || next[2] === ownTag);
    })
    .map((name) => statement('cleanup', `DROP TABLE IF EXISTS ${quoted(name)}`));
}

/** The DDL of `table` and of its indexes (from {@link swapSchemaStatement}'s rows), renamed for a build. */
export function buildStatements(schema: readonly Row[], table: GraphTable, stamp: string): { create: SqlStatement[]; indexes: SqlStatement[] } {
  const next = `${table}_next_${stamp}`;
  const own = schema.filter((r) => r.tbl_name === table && r.sql !== null);
  const ddl = own.find((r) => r.type === 'table');
  if (!ddl) throw new Error(`the graph table "${table}" is missing`);
  const name = /^CREATE TABLE\s+(?:"(?:[^"]|"")+"|\w+)/i;
  const create = String(ddl.sql).replace(name, `CREATE TABLE ${quoted(next)}`);
  if (create === String(ddl.sql)) throw new Error(`cannot read the DDL of "${table}"`);
  const indexes = own
    .filter((r) => r.type === 'index')
    .map((r) => {
      const sql = String(r.sql);
      const renamed = sql.replace(
        /^CREATE (UNIQUE )?INDEX\s+(?:IF NOT EXISTS\s+)?(?:"(?:[^"]|"")+"|\w+)\s+ON\s+(?:"(?:[^"]|"")+"|\w+)/i,
        (_, unique: string | undefined) => `CREATE ${unique ?? ''}INDEX ${quoted(`${canonicalIndexName(String(r.name))}__${stamp}`)} ON ${quoted(next)}`,
      );
      if (renamed === sql) throw new Error(`cannot read the DDL of the index "${String(r.name)}"`);
      return statement('index', renamed);
    });
  return { create: [statement('stage', `DROP TABLE IF EXISTS ${quoted(next)}`), statement('stage', create)], indexes };
}

/**
 * One batch of copying `table`'s stored rows after id `after` that the
 * commit keeps (not planned for deletion) into the build, at most `rows` of
 * them: a read of the last id it covers (`hi`, NULL when none was left), then the copy.
 */
export function copyStatements(table: GraphTable, stamp: string, token: string, after: string, rows: number): SqlStatement[] {
  const range = `(SELECT MAX(id) FROM (SELECT id FROM ${table} WHERE id > ?1 ORDER BY id LIMIT ?2))`;
  return [
    statement('read', `SELECT ${range} AS hi`, [after, rows]),
    statement(
      'stage',
      `INSERT INTO ${quoted(`${table}_next_${stamp}`)} SELECT * FROM ${table} t WHERE t.id > ?1 AND t.id <= ${range}
       AND NOT EXISTS (SELECT 1 FROM ${DELETES[table]} d WHERE d.token = ?3 AND d.id = t.id) ORDER BY t.id`,
      [after, rows, token],
    ),
  ];
}

/**
 * One batch of writing the sync's staged rows of `table` after id `after`
 * into the build, at most `rows` of them (created, or changed: +P2): `hi`
 * as in {@link copyStatements}, then the upsert, whose `changes` are rows written.
 */
export function upsertStatements(table: GraphTable, stamp: string, params: readonly SqlValue[], after: string, rows: number): SqlStatement[] {
  const staged = table === 'entities' ? 'staged_entities' : 'staged_relationships';
  const range = `(SELECT MAX(id) FROM (SELECT id FROM ${staged} WHERE token = ?1 AND id > ?9 ORDER BY id LIMIT ?10))`;
  const bound = [...params, after, rows];
  return [
    statement('read', `SELECT ${range} AS hi`, bound),
    statement('graph', upsertSql(table, `${table}_next_${stamp}`, `s.id > ?9 AND s.id <= ${range}`), bound),
  ];
}

/** The swap, for the commit's last batch: each built table takes its graph table's name. */
export function swapStatements(tables: readonly GraphTable[], stamp: string): SqlStatement[] {
  return tables.flatMap((table) => [
    statement('index', `ALTER TABLE ${table} RENAME TO ${quoted(`${table}_old_${stamp}`)}`),
    statement('index', `ALTER TABLE ${quoted(`${table}_next_${stamp}`)} RENAME TO ${table}`),
  ]);
}

/** After the swap: the swapped-out tables go. */
export function dropOldStatements(tables: readonly GraphTable[], stamp: string): SqlStatement[] {
  return tables.map((table) => statement('cleanup', `DROP TABLE IF EXISTS ${quoted(`${table}_old_${stamp}`)}`));
}

/** A build given up (its commit failed): its tables go. */
export function buildDropStatements(tables: readonly GraphTable[], stamp: string): SqlStatement[] {
  return tables.map((table) => statement('cleanup', `DROP TABLE IF EXISTS ${quoted(`${table}_next_${stamp}`)}`));
}
