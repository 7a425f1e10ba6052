-- parallax-edge schema migration 1: graph
CREATE TABLE IF NOT EXISTS schema_migrations ( version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL );
CREATE TABLE IF NOT EXISTS entities (
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
  );
CREATE INDEX IF NOT EXISTS entities_scope ON entities (account_id, connector_id, step_id, id);
CREATE INDEX IF NOT EXISTS entities_type ON entities (entity_type, id);
CREATE INDEX IF NOT EXISTS entities_class ON entities (entity_class, id);
CREATE TABLE IF NOT EXISTS relationships (
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
  );
CREATE INDEX IF NOT EXISTS relationships_scope ON relationships (account_id, connector_id, step_id, id);
CREATE INDEX IF NOT EXISTS relationships_from ON relationships (from_id);
CREATE INDEX IF NOT EXISTS relationships_to ON relationships (to_id);
CREATE INDEX IF NOT EXISTS relationships_verb ON relationships (verb, id);
CREATE TABLE IF NOT EXISTS sync_runs (
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
  );
CREATE INDEX IF NOT EXISTS sync_runs_connector ON sync_runs (connector_id, seq);
INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'graph', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
