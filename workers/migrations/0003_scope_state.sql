-- parallax-edge schema migration 3: scope_state
CREATE TABLE IF NOT EXISTS scope_state (
    account_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    writes INTEGER NOT NULL,
    digest TEXT,
    digest_writes INTEGER,
    PRIMARY KEY (account_id, connector_id)
  );
CREATE TABLE IF NOT EXISTS commits_in_progress (token TEXT PRIMARY KEY NOT NULL);
CREATE TRIGGER IF NOT EXISTS entities_scope_insert AFTER INSERT ON entities WHEN NOT EXISTS (SELECT 1 FROM commits_in_progress)
     BEGIN INSERT INTO scope_state (account_id, connector_id, writes) VALUES (NEW.account_id, NEW.connector_id, 1)
       ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1; END;
CREATE TRIGGER IF NOT EXISTS entities_scope_update AFTER UPDATE ON entities WHEN NOT EXISTS (SELECT 1 FROM commits_in_progress)
     BEGIN INSERT INTO scope_state (account_id, connector_id, writes) VALUES (OLD.account_id, OLD.connector_id, 1)
       ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1; INSERT INTO scope_state (account_id, connector_id, writes) VALUES (NEW.account_id, NEW.connector_id, 1)
       ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1; END;
CREATE TRIGGER IF NOT EXISTS entities_scope_delete AFTER DELETE ON entities WHEN NOT EXISTS (SELECT 1 FROM commits_in_progress)
     BEGIN INSERT INTO scope_state (account_id, connector_id, writes) VALUES (OLD.account_id, OLD.connector_id, 1)
       ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1; END;
CREATE TRIGGER IF NOT EXISTS relationships_scope_insert AFTER INSERT ON relationships WHEN NOT EXISTS (SELECT 1 FROM commits_in_progress)
     BEGIN INSERT INTO scope_state (account_id, connector_id, writes) VALUES (NEW.account_id, NEW.connector_id, 1)
       ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1; END;
CREATE TRIGGER IF NOT EXISTS relationships_scope_update AFTER UPDATE ON relationships WHEN NOT EXISTS (SELECT 1 FROM commits_in_progress)
     BEGIN INSERT INTO scope_state (account_id, connector_id, writes) VALUES (OLD.account_id, OLD.connector_id, 1)
       ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1; INSERT INTO scope_state (account_id, connector_id, writes) VALUES (NEW.account_id, NEW.connector_id, 1)
       ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1; END;
CREATE TRIGGER IF NOT EXISTS relationships_scope_delete AFTER DELETE ON relationships WHEN NOT EXISTS (SELECT 1 FROM commits_in_progress)
     BEGIN INSERT INTO scope_state (account_id, connector_id, writes) VALUES (OLD.account_id, OLD.connector_id, 1)
       ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1; END;
INSERT INTO schema_migrations (version, name, applied_at) VALUES (3, 'scope_state', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
