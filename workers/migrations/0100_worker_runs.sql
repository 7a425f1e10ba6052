-- parallax-edge Worker tables (not part of the graph schema, which is 0001..0099 from adapters/sql/schema.ts).
-- One row per connector run the Worker started: cron, API "run now" or REST ingest, including refused (skipped) ones.
CREATE TABLE IF NOT EXISTS connector_runs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL UNIQUE,
  account_id TEXT NOT NULL,
  connector_id TEXT NOT NULL,
  sync_id TEXT NOT NULL,
  trigger TEXT NOT NULL,
  cron TEXT,
  status TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  stats TEXT,
  rows_written INTEGER,
  failed_steps TEXT NOT NULL DEFAULT '[]',
  error TEXT
);
CREATE INDEX IF NOT EXISTS connector_runs_connector ON connector_runs (connector_id, seq);
-- At most one run per (account, connector) at a time: a run claims the row with a conditional write and
-- deletes it when done; a run that dies leaves it until expires_at (epoch ms), then the next run takes over.
CREATE TABLE IF NOT EXISTS sync_leases (
  account_id TEXT NOT NULL,
  connector_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  acquired_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, connector_id)
);
