-- parallax-edge schema migration 5: streaming
DROP TRIGGER IF EXISTS entities_scope_insert;
DROP TRIGGER IF EXISTS entities_scope_update;
DROP TRIGGER IF EXISTS entities_scope_delete;
DROP TRIGGER IF EXISTS relationships_scope_insert;
DROP TRIGGER IF EXISTS relationships_scope_update;
DROP TRIGGER IF EXISTS relationships_scope_delete;
DROP TABLE IF EXISTS commits_in_progress;
DROP TABLE IF EXISTS staged_commits;
DROP TABLE IF EXISTS staged_entities;
DROP TABLE IF EXISTS staged_relationships;
DROP TABLE IF EXISTS staged_entity_deletes;
DROP TABLE IF EXISTS staged_relationship_deletes;
CREATE TABLE IF NOT EXISTS staged_syncs (
    token TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    sync_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    verify INTEGER NOT NULL,
    units_read INTEGER,
    staged_at TEXT NOT NULL
  );
CREATE TABLE IF NOT EXISTS staged_entities (
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
  );
CREATE TABLE IF NOT EXISTS staged_relationships (
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
  );
CREATE TABLE IF NOT EXISTS staged_units (
    token TEXT NOT NULL,
    kind TEXT NOT NULL,
    digest TEXT NOT NULL,
    step_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    ids TEXT,
    expanded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (token, kind, digest)
  ) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS staged_confirmed (
    token TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    page INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    PRIMARY KEY (token, kind, id)
  ) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS staged_entity_deletes (
    token TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (token, id)
  ) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS staged_relationship_deletes (
    token TEXT NOT NULL,
    id TEXT NOT NULL,
    cascaded INTEGER NOT NULL,
    PRIMARY KEY (token, id)
  ) WITHOUT ROWID;
DROP TABLE IF EXISTS scope_state;
CREATE TABLE IF NOT EXISTS scope_state (
    account_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    writes INTEGER NOT NULL DEFAULT 0,
    units_writes INTEGER,
    PRIMARY KEY (account_id, connector_id)
  );
CREATE TABLE IF NOT EXISTS scope_units (
    account_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    digest TEXT NOT NULL,
    step_id TEXT NOT NULL,
    ids TEXT NOT NULL,
    PRIMARY KEY (account_id, connector_id, kind, digest)
  ) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS scope_units_step ON scope_units (account_id, connector_id, step_id, kind);
DROP TRIGGER IF EXISTS commit_guard_other;
CREATE TRIGGER IF NOT EXISTS commit_guard_DuplicateSyncId BEFORE INSERT ON commit_guards WHEN NEW.code = 'DuplicateSyncId'
     BEGIN SELECT RAISE(ABORT, 'parallax-edge guard: DuplicateSyncId'); END;
CREATE TRIGGER IF NOT EXISTS commit_guard_DanglingRelationship BEFORE INSERT ON commit_guards WHEN NEW.code = 'DanglingRelationship'
     BEGIN SELECT RAISE(ABORT, 'parallax-edge guard: DanglingRelationship'); END;
CREATE TRIGGER IF NOT EXISTS commit_guard_StagingIncomplete BEFORE INSERT ON commit_guards WHEN NEW.code = 'StagingIncomplete'
     BEGIN SELECT RAISE(ABORT, 'parallax-edge guard: StagingIncomplete'); END;
CREATE TRIGGER IF NOT EXISTS commit_guard_SyncConflict BEFORE INSERT ON commit_guards WHEN NEW.code = 'SyncConflict'
     BEGIN SELECT RAISE(ABORT, 'parallax-edge guard: SyncConflict'); END;
CREATE TRIGGER IF NOT EXISTS commit_guard_other BEFORE INSERT ON commit_guards WHEN NEW.code NOT IN ('DuplicateSyncId', 'DanglingRelationship', 'StagingIncomplete', 'SyncConflict')
   BEGIN SELECT RAISE(ABORT, 'parallax-edge guard: unknown'); END;
INSERT INTO schema_migrations (version, name, applied_at) VALUES (5, 'streaming', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
