-- parallax-edge schema migration 6: query_indexes
CREATE INDEX IF NOT EXISTS relationships_from_verb ON relationships (from_id, verb, to_type, to_id);
CREATE INDEX IF NOT EXISTS relationships_to_verb ON relationships (to_id, verb, from_type, from_id);
DROP INDEX IF EXISTS relationships_from;
DROP INDEX IF EXISTS relationships_to;
CREATE INDEX IF NOT EXISTS entities_account_type ON entities (account_id, entity_type, id);
CREATE INDEX IF NOT EXISTS entities_account_class ON entities (account_id, entity_class, id);
INSERT INTO schema_migrations (version, name, applied_at) VALUES (6, 'query_indexes', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
