-- parallax-edge Worker tables for runs executed as Cloudflare Workflows (workers/workflow.ts).
-- staging_token: the run's staging area in the graph store while it is open; the next run of the same
-- (account, connector) drops a leftover one (an instance terminated or errored before its commit: +P4).
ALTER TABLE connector_runs ADD COLUMN staging_token TEXT;
-- One row per page of a step of a Workflow run: what GET /v1/syncs/:id shows while the run goes on.
-- page -1 is the step's own failure (its retries exhausted); last = 1 marks the step's last page.
CREATE TABLE IF NOT EXISTS connector_run_pages (
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  page INTEGER NOT NULL,
  status TEXT NOT NULL,
  last INTEGER NOT NULL DEFAULT 0,
  entities INTEGER NOT NULL DEFAULT 0,
  relationships INTEGER NOT NULL DEFAULT 0,
  rows_staged INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (run_id, step_id, page)
);
