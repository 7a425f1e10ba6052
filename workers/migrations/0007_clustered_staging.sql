-- parallax-edge schema migration 7: clustered_staging
DROP TABLE IF EXISTS staged_entities;
DROP TABLE IF EXISTS staged_relationships;
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
  ) WITHOUT ROWID;
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
  ) WITHOUT ROWID;
INSERT INTO schema_migrations (version, name, applied_at) VALUES (7, 'clustered_staging', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
