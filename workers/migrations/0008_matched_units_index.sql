-- parallax-edge schema migration 8: matched_units_index
CREATE INDEX IF NOT EXISTS staged_units_matched ON staged_units (token, expanded) WHERE ids IS NULL;
INSERT INTO schema_migrations (version, name, applied_at) VALUES (8, 'matched_units_index', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
