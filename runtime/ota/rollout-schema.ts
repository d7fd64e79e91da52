// The cloud's OTA tables in cloud.db (a migration of runtime/api/db.ts): roll-outs and their
// per-site targets, provisioning claims, the allow-list of serials and the devices provisioned.
export const OTA_MIGRATION = `
  CREATE TABLE ota_deployments (
    id TEXT PRIMARY KEY, version TEXT NOT NULL, sequence INTEGER NOT NULL, url TEXT NOT NULL,
    created_by TEXT, created_at INTEGER NOT NULL,
    state TEXT NOT NULL,            -- running | paused | aborted | completed
    config TEXT NOT NULL,           -- RolloutConfig as JSON
    stage INTEGER NOT NULL, stage_started_at INTEGER NOT NULL,
    reason TEXT, updated_at INTEGER NOT NULL,
    -- failures and finished sites when last resumed: an operator's resume accepts those
    baseline_failed INTEGER NOT NULL DEFAULT 0, baseline_done INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE ota_targets (
    deployment_id TEXT NOT NULL REFERENCES ota_deployments(id) ON DELETE CASCADE,
    site_id TEXT NOT NULL, position INTEGER NOT NULL,
    notified_at INTEGER, phase TEXT NOT NULL, reason TEXT, reported_at INTEGER,
    final INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment_id, site_id));
  CREATE INDEX ota_targets_site ON ota_targets (site_id);
  CREATE TABLE ota_claims (
    token_hash TEXT PRIMARY KEY, site_id TEXT NOT NULL, created_by TEXT, created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, used_at INTEGER, used_serial TEXT);
  CREATE TABLE ota_serials (serial TEXT PRIMARY KEY, created_at INTEGER NOT NULL, note TEXT);
  CREATE TABLE ota_devices (
    serial TEXT PRIMARY KEY, site_id TEXT NOT NULL, certificate_serial TEXT NOT NULL, issued_at INTEGER NOT NULL);`;
