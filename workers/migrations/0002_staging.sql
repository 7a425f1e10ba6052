-- parallax-edge schema migration 2: staging
CREATE TABLE IF NOT EXISTS staged_commits (
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
  );
CREATE TABLE IF NOT EXISTS staged_entities (
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
  );
CREATE TABLE IF NOT EXISTS staged_relationships (
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
  );
CREATE TABLE IF NOT EXISTS staged_entity_deletes (
    token TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (token, id)
  );
CREATE TABLE IF NOT EXISTS staged_relationship_deletes (
    token TEXT NOT NULL,
    id TEXT NOT NULL,
    cascaded INTEGER NOT NULL,
    PRIMARY KEY (token, id)
  );
CREATE TABLE IF NOT EXISTS commit_guards (code TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS commit_guard_DuplicateSyncId BEFORE INSERT ON commit_guards WHEN NEW.code = 'DuplicateSyncId'
     BEGIN SELECT RAISE(ABORT, 'parallax-edge guard: DuplicateSyncId'); END;
CREATE TRIGGER IF NOT EXISTS commit_guard_DanglingRelationship BEFORE INSERT ON commit_guards WHEN NEW.code = 'DanglingRelationship'
     BEGIN SELECT RAISE(ABORT, 'parallax-edge guard: DanglingRelationship'); END;
CREATE TRIGGER IF NOT EXISTS commit_guard_StagingIncomplete BEFORE INSERT ON commit_guards WHEN NEW.code = 'StagingIncomplete'
     BEGIN SELECT RAISE(ABORT, 'parallax-edge guard: StagingIncomplete'); END;
CREATE TRIGGER IF NOT EXISTS commit_guard_other BEFORE INSERT ON commit_guards WHEN NEW.code NOT IN ('DuplicateSyncId', 'DanglingRelationship', 'StagingIncomplete')
   BEGIN SELECT RAISE(ABORT, 'parallax-edge guard: unknown'); END;
INSERT INTO schema_migrations (version, name, applied_at) VALUES (2, 'staging', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
