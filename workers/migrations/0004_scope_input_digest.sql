-- parallax-edge schema migration 4: scope_input_digest
ALTER TABLE scope_state ADD COLUMN input_digest TEXT;
INSERT INTO schema_migrations (version, name, applied_at) VALUES (4, 'scope_input_digest', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
