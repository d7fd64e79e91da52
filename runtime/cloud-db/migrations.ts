// The schema of the cloud database, one migration per entry, applied in order and recorded in
// PRAGMA user_version on SQLite and in the schema_version table on PostgreSQL
// (runtime/cloud-db/cloud-db.ts). A migration, once released, is never edited; a change
// is a new entry at the end. Every part of the cloud that keeps rows here (identity and sites in
// runtime/api, OTA in runtime/ota, the models' results in runtime/ml) has its tables in this list.

export interface Migration {
  /** The text applied to cloud.db (never edited once released: existing files record its number). */
  readonly sqlite: string;
  /**
   * The same schema for PostgreSQL: BIGINT for integers (times are milliseconds), DOUBLE PRECISION
   * for REAL, identity columns for AUTOINCREMENT, a unique index on lower(email) for COLLATE NOCASE.
   */
  readonly postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [
  // 1: identity, sites, tokens, alarms, audit, commands, plans
  {
    sqlite: `CREATE TABLE orgs (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE users (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL UNIQUE COLLATE NOCASE,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL,
     org_id TEXT NOT NULL REFERENCES orgs(id),
     totp_secret TEXT,              -- AES-256-GCM sealed base32 secret, enabled
     totp_pending TEXT,             -- sealed secret of an enrolment not yet confirmed
     totp_last_step INTEGER NOT NULL DEFAULT 0,
     token_version INTEGER NOT NULL DEFAULT 0,
     disabled INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE recovery_codes (
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     code_hash TEXT NOT NULL, pending INTEGER NOT NULL, used_at INTEGER,
     PRIMARY KEY (user_id, code_hash));
   CREATE TABLE sites (
     id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), name TEXT NOT NULL,
     lat REAL, lon REAL, state TEXT NOT NULL DEFAULT 'unknown', state_ts INTEGER,
     last_seen INTEGER, created_at INTEGER NOT NULL);
   CREATE TABLE user_sites (
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
     PRIMARY KEY (user_id, site_id));
   CREATE TABLE refresh_tokens (
     id TEXT PRIMARY KEY, family TEXT NOT NULL, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     secret_hash TEXT NOT NULL, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
     used_at INTEGER, revoked_at INTEGER);
   CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
   CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
   CREATE TABLE alarms (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     site_id TEXT NOT NULL, code TEXT NOT NULL, source TEXT NOT NULL, severity TEXT NOT NULL,
     message TEXT NOT NULL, state TEXT NOT NULL,
     raised_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, occurrences INTEGER NOT NULL DEFAULT 1,
     acked_by TEXT, acked_at INTEGER, cleared_at INTEGER,
     silenced_until INTEGER, silenced_by TEXT);
   -- Deduplication: at most one open (not cleared) alarm per site, code and source.
   CREATE UNIQUE INDEX alarms_open ON alarms (site_id, code, source) WHERE state != 'cleared';
   CREATE INDEX alarms_site_raised ON alarms (site_id, raised_at);
   CREATE TABLE alarm_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT, alarm_id INTEGER NOT NULL REFERENCES alarms(id),
     ts INTEGER NOT NULL, event TEXT NOT NULL, by TEXT, note TEXT);
   CREATE INDEX alarm_events_alarm ON alarm_events (alarm_id);
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,
     user_id TEXT, email TEXT, role TEXT, org_id TEXT, ip TEXT,
     action TEXT NOT NULL, target TEXT, outcome TEXT NOT NULL, status INTEGER, details TEXT);
   CREATE INDEX audit_ts ON audit (ts);
   CREATE TABLE commands (
     id TEXT PRIMARY KEY, site_id TEXT NOT NULL, user_id TEXT NOT NULL, body TEXT NOT NULL,
     issued_at INTEGER NOT NULL, outcome TEXT, reason TEXT, acked_at INTEGER);
   CREATE INDEX commands_site ON commands (site_id, issued_at);
   CREATE TABLE plans (site_id TEXT PRIMARY KEY, ts INTEGER NOT NULL, plan TEXT NOT NULL);
   -- Every price step any plan carried, so revenue can be priced for past periods too.
   CREATE TABLE prices (
     site_id TEXT NOT NULL, start INTEGER NOT NULL, step_ms INTEGER NOT NULL, eur_per_mwh REAL NOT NULL,
     PRIMARY KEY (site_id, start)) WITHOUT ROWID;`,
    postgres: `CREATE TABLE orgs (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL);
   CREATE TABLE users (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL,
     password_hash TEXT NOT NULL,
     role TEXT NOT NULL,
     org_id TEXT NOT NULL REFERENCES orgs(id),
     totp_secret TEXT,              -- AES-256-GCM sealed base32 secret, enabled
     totp_pending TEXT,             -- sealed secret of an enrolment not yet confirmed
     totp_last_step BIGINT NOT NULL DEFAULT 0,
     token_version BIGINT NOT NULL DEFAULT 0,
     disabled BIGINT NOT NULL DEFAULT 0,
     created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
   CREATE UNIQUE INDEX users_email ON users (lower(email));
   CREATE TABLE recovery_codes (
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     code_hash TEXT NOT NULL, pending BIGINT NOT NULL, used_at BIGINT,
     PRIMARY KEY (user_id, code_hash));
   CREATE TABLE sites (
     id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), name TEXT NOT NULL,
     lat DOUBLE PRECISION, lon DOUBLE PRECISION, state TEXT NOT NULL DEFAULT 'unknown', state_ts BIGINT,
     last_seen BIGINT, created_at BIGINT NOT NULL);
   CREATE TABLE user_sites (
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
     PRIMARY KEY (user_id, site_id));
   CREATE TABLE refresh_tokens (
     id TEXT PRIMARY KEY, family TEXT NOT NULL, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     secret_hash TEXT NOT NULL, issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
     used_at BIGINT, revoked_at BIGINT);
   CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
   CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
   CREATE TABLE alarms (
     id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
     site_id TEXT NOT NULL, code TEXT NOT NULL, source TEXT NOT NULL, severity TEXT NOT NULL,
     message TEXT NOT NULL, state TEXT NOT NULL,
     raised_at BIGINT NOT NULL, last_seen BIGINT NOT NULL, occurrences BIGINT NOT NULL DEFAULT 1,
     acked_by TEXT, acked_at BIGINT, cleared_at BIGINT,
     silenced_until BIGINT, silenced_by TEXT);
   -- Deduplication: at most one open (not cleared) alarm per site, code and source.
   CREATE UNIQUE INDEX alarms_open ON alarms (site_id, code, source) WHERE state != 'cleared';
   CREATE INDEX alarms_site_raised ON alarms (site_id, raised_at);
   CREATE TABLE alarm_events (
     id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, alarm_id BIGINT NOT NULL REFERENCES alarms(id),
     ts BIGINT NOT NULL, event TEXT NOT NULL, "by" TEXT, note TEXT);
   CREATE INDEX alarm_events_alarm ON alarm_events (alarm_id);
   CREATE TABLE audit (
     id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, ts BIGINT NOT NULL,
     user_id TEXT, email TEXT, role TEXT, org_id TEXT, ip TEXT,
     action TEXT NOT NULL, target TEXT, outcome TEXT NOT NULL, status BIGINT, details TEXT);
   CREATE INDEX audit_ts ON audit (ts);
   CREATE TABLE commands (
     id TEXT PRIMARY KEY, site_id TEXT NOT NULL, user_id TEXT NOT NULL, body TEXT NOT NULL,
     issued_at BIGINT NOT NULL, outcome TEXT, reason TEXT, acked_at BIGINT);
   CREATE INDEX commands_site ON commands (site_id, issued_at);
   CREATE TABLE plans (site_id TEXT PRIMARY KEY, ts BIGINT NOT NULL, plan TEXT NOT NULL);
   -- Every price step any plan carried, so revenue can be priced for past periods too.
   CREATE TABLE prices (
     site_id TEXT NOT NULL, start BIGINT NOT NULL, step_ms BIGINT NOT NULL, eur_per_mwh DOUBLE PRECISION NOT NULL,
     PRIMARY KEY (site_id, start));`,
  },
  // 2: OTA roll-outs and their per-site targets, provisioning claims, the allow-list of serials and
  // the devices provisioned
  {
    sqlite: `
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
    serial TEXT PRIMARY KEY, site_id TEXT NOT NULL, certificate_serial TEXT NOT NULL, issued_at INTEGER NOT NULL);`,
    postgres: `
  CREATE TABLE ota_deployments (
    id TEXT PRIMARY KEY, version TEXT NOT NULL, sequence BIGINT NOT NULL, url TEXT NOT NULL,
    created_by TEXT, created_at BIGINT NOT NULL,
    state TEXT NOT NULL,            -- running | paused | aborted | completed
    config TEXT NOT NULL,           -- RolloutConfig as JSON
    stage BIGINT NOT NULL, stage_started_at BIGINT NOT NULL,
    reason TEXT, updated_at BIGINT NOT NULL,
    -- failures and finished sites when last resumed: an operator's resume accepts those
    baseline_failed BIGINT NOT NULL DEFAULT 0, baseline_done BIGINT NOT NULL DEFAULT 0);
  CREATE TABLE ota_targets (
    deployment_id TEXT NOT NULL REFERENCES ota_deployments(id) ON DELETE CASCADE,
    site_id TEXT NOT NULL, position BIGINT NOT NULL,
    notified_at BIGINT, phase TEXT NOT NULL, reason TEXT, reported_at BIGINT,
    final BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment_id, site_id));
  CREATE INDEX ota_targets_site ON ota_targets (site_id);
  CREATE TABLE ota_claims (
    token_hash TEXT PRIMARY KEY, site_id TEXT NOT NULL, created_by TEXT, created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL, used_at BIGINT, used_serial TEXT);
  CREATE TABLE ota_serials (serial TEXT PRIMARY KEY, created_at BIGINT NOT NULL, note TEXT);
  CREATE TABLE ota_devices (
    serial TEXT PRIMARY KEY, site_id TEXT NOT NULL, certificate_serial TEXT NOT NULL, issued_at BIGINT NOT NULL);`,
  },
  // 3: the models' conclusions per site: day-ahead load forecasts (the edge's and the cloud's own),
  // state-of-health estimates, per-cycle anomaly scores, the model versions seen, and every
  // retraining with both scores. The edge resends its results inside telemetry records until they
  // are acknowledged, so every table is keyed for a resent record to add no row.
  {
    sqlite: `
  -- One row per forecast made: a site re-forecasting a day (a restart) adds one, a resend does not.
  CREATE TABLE ml_forecasts (
    site_id TEXT NOT NULL, start INTEGER NOT NULL, source TEXT NOT NULL CHECK (source IN ('edge', 'cloud')),
    made_at INTEGER NOT NULL, step_minutes INTEGER NOT NULL, load_kw TEXT NOT NULL,
    model TEXT NOT NULL, filled_steps INTEGER NOT NULL,
    PRIMARY KEY (site_id, start, source, made_at)) WITHOUT ROWID;
  CREATE TABLE ml_soh (
    site_id TEXT NOT NULL, ts INTEGER NOT NULL, origin TEXT NOT NULL CHECK (origin IN ('edge', 'cloud')),
    soh_pct REAL NOT NULL, sd_pct REAL NOT NULL, capacity_wh REAL NOT NULL,
    source TEXT NOT NULL, measurements INTEGER NOT NULL, cycles REAL NOT NULL, prior_pct REAL NOT NULL,
    PRIMARY KEY (site_id, ts, origin)) WITHOUT ROWID;
  CREATE TABLE ml_anomalies (
    site_id TEXT NOT NULL, cycle_start INTEGER NOT NULL, origin TEXT NOT NULL CHECK (origin IN ('edge', 'cloud')),
    model TEXT NOT NULL, cycle_end INTEGER NOT NULL, score REAL NOT NULL, threshold REAL NOT NULL,
    anomalous INTEGER NOT NULL, features TEXT NOT NULL, samples INTEGER NOT NULL,
    PRIMARY KEY (site_id, cycle_start, origin, model)) WITHOUT ROWID;
  -- The models a site's results came from, by name (file and training time).
  CREATE TABLE ml_models (
    site_id TEXT NOT NULL, kind TEXT NOT NULL, origin TEXT NOT NULL, name TEXT NOT NULL,
    first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
    PRIMARY KEY (site_id, kind, origin, name)) WITHOUT ROWID;
  -- Retraining with rollback on regression: both scores on the same days, and which model stayed.
  CREATE TABLE ml_retrains (
    id INTEGER PRIMARY KEY AUTOINCREMENT, site_id TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL,
    eval_from INTEGER NOT NULL, eval_to INTEGER NOT NULL,
    current_model TEXT NOT NULL, current_mae REAL NOT NULL, current_mape_pct REAL,
    candidate_model TEXT NOT NULL, candidate_mae REAL NOT NULL, candidate_mape_pct REAL, candidate_train_days INTEGER NOT NULL,
    replaced INTEGER NOT NULL, model_after TEXT NOT NULL);
  CREATE INDEX ml_retrains_site ON ml_retrains (site_id, at);`,
    postgres: `
  -- One row per forecast made: a site re-forecasting a day (a restart) adds one, a resend does not.
  CREATE TABLE ml_forecasts (
    site_id TEXT NOT NULL, start BIGINT NOT NULL, source TEXT NOT NULL CHECK (source IN ('edge', 'cloud')),
    made_at BIGINT NOT NULL, step_minutes BIGINT NOT NULL, load_kw TEXT NOT NULL,
    model TEXT NOT NULL, filled_steps BIGINT NOT NULL,
    PRIMARY KEY (site_id, start, source, made_at));
  CREATE TABLE ml_soh (
    site_id TEXT NOT NULL, ts BIGINT NOT NULL, origin TEXT NOT NULL CHECK (origin IN ('edge', 'cloud')),
    soh_pct DOUBLE PRECISION NOT NULL, sd_pct DOUBLE PRECISION NOT NULL, capacity_wh DOUBLE PRECISION NOT NULL,
    source TEXT NOT NULL, measurements BIGINT NOT NULL, cycles DOUBLE PRECISION NOT NULL, prior_pct DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site_id, ts, origin));
  CREATE TABLE ml_anomalies (
    site_id TEXT NOT NULL, cycle_start BIGINT NOT NULL, origin TEXT NOT NULL CHECK (origin IN ('edge', 'cloud')),
    model TEXT NOT NULL, cycle_end BIGINT NOT NULL, score DOUBLE PRECISION NOT NULL, threshold DOUBLE PRECISION NOT NULL,
    anomalous BIGINT NOT NULL, features TEXT NOT NULL, samples BIGINT NOT NULL,
    PRIMARY KEY (site_id, cycle_start, origin, model));
  -- The models a site's results came from, by name (file and training time).
  CREATE TABLE ml_models (
    site_id TEXT NOT NULL, kind TEXT NOT NULL, origin TEXT NOT NULL, name TEXT NOT NULL,
    first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
    PRIMARY KEY (site_id, kind, origin, name));
  -- Retraining with rollback on regression: both scores on the same days, and which model stayed.
  CREATE TABLE ml_retrains (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, site_id TEXT NOT NULL, kind TEXT NOT NULL, at BIGINT NOT NULL,
    eval_from BIGINT NOT NULL, eval_to BIGINT NOT NULL,
    current_model TEXT NOT NULL, current_mae DOUBLE PRECISION NOT NULL, current_mape_pct DOUBLE PRECISION,
    candidate_model TEXT NOT NULL, candidate_mae DOUBLE PRECISION NOT NULL, candidate_mape_pct DOUBLE PRECISION, candidate_train_days BIGINT NOT NULL,
    replaced BIGINT NOT NULL, model_after TEXT NOT NULL);
  CREATE INDEX ml_retrains_site ON ml_retrains (site_id, at);`,
  },
  // 4: device certificates that can be revoked and renewed. Every certificate issued to a site is
  // recorded (device_certificates); a revoked certificate is on the deny list by its serial, and a
  // revoked site's password login is refused for good (revoked_sites): its new device uses a new certificate.
  {
    sqlite: `CREATE TABLE device_certificates (
    serial TEXT PRIMARY KEY, site_id TEXT NOT NULL, device_serial TEXT NOT NULL,
    issued_at INTEGER NOT NULL, not_after INTEGER NOT NULL, revoked_at INTEGER, revoked_by TEXT, reason TEXT);
  CREATE INDEX device_certificates_site ON device_certificates (site_id);
  CREATE TABLE revoked_sites (site_id TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL, revoked_by TEXT, reason TEXT);
  -- The organisation a claim gives the site to: the claim, not the first to type an id, decides.
  ALTER TABLE ota_claims ADD COLUMN org_id TEXT;`,
    postgres: `CREATE TABLE device_certificates (
    serial TEXT PRIMARY KEY, site_id TEXT NOT NULL, device_serial TEXT NOT NULL,
    issued_at BIGINT NOT NULL, not_after BIGINT NOT NULL, revoked_at BIGINT, revoked_by TEXT, reason TEXT);
  CREATE INDEX device_certificates_site ON device_certificates (site_id);
  CREATE TABLE revoked_sites (site_id TEXT PRIMARY KEY, revoked_at BIGINT NOT NULL, revoked_by TEXT, reason TEXT);
  -- The organisation a claim gives the site to: the claim, not the first to type an id, decides.
  ALTER TABLE ota_claims ADD COLUMN org_id TEXT;`,
  },
  // 5: notifications (runtime/notify): users' rules, the durable outbox of e-mails and webhook
  // deliveries (retried with backoff, kept as the delivery log), the episodes already notified (one
  // message per episode), the escalation of unacknowledged critical alarms, and the organisations'
  // webhooks with their signing secrets (sealed like the TOTP secrets).
  {
    sqlite: `CREATE TABLE notify_rules (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE, rules TEXT NOT NULL, updated_at INTEGER NOT NULL);
  CREATE TABLE notify_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient TEXT NOT NULL,        -- an e-mail address or a webhook id
    user_id TEXT, alarm_id INTEGER,
    kind TEXT NOT NULL,             -- alarm | escalation | test | mail
    level INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,          -- JSON: the mail (subject, text, attachments) or the webhook body
    state TEXT NOT NULL CHECK (state IN ('queued', 'held', 'sent', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, created_at INTEGER NOT NULL,
    sent_at INTEGER, last_error TEXT, last_status INTEGER);
  CREATE INDEX notify_outbox_due ON notify_outbox (state, next_at);
  CREATE INDEX notify_outbox_alarm ON notify_outbox (alarm_id);
  CREATE INDEX notify_outbox_recipient ON notify_outbox (channel, recipient, id);
  CREATE TABLE notify_episodes (
    site_id TEXT NOT NULL, code TEXT NOT NULL, episode_id INTEGER NOT NULL, last_active INTEGER NOT NULL,
    PRIMARY KEY (site_id, code)) WITHOUT ROWID;
  -- Every alarm the notifier saw raised, and the episode it was counted in.
  CREATE TABLE notify_episode_alarms (alarm_id INTEGER PRIMARY KEY, episode_id INTEGER NOT NULL);
  CREATE TABLE notify_escalations (
    alarm_id INTEGER PRIMARY KEY, site_id TEXT NOT NULL, level INTEGER NOT NULL, next_at INTEGER NOT NULL,
    stopped TEXT);                  -- null while running; else why it stopped
  CREATE INDEX notify_escalations_due ON notify_escalations (next_at) WHERE stopped IS NULL;
  CREATE TABLE notify_webhooks (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL,
    min_severity TEXT NOT NULL, created_by TEXT, created_at INTEGER NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);`,
    postgres: `CREATE TABLE notify_rules (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE, rules TEXT NOT NULL, updated_at BIGINT NOT NULL);
  CREATE TABLE notify_outbox (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient TEXT NOT NULL,        -- an e-mail address or a webhook id
    user_id TEXT, alarm_id BIGINT,
    kind TEXT NOT NULL,             -- alarm | escalation | test | mail
    level BIGINT NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,          -- JSON: the mail (subject, text, attachments) or the webhook body
    state TEXT NOT NULL CHECK (state IN ('queued', 'held', 'sent', 'failed', 'cancelled')),
    attempts BIGINT NOT NULL DEFAULT 0, next_at BIGINT NOT NULL, created_at BIGINT NOT NULL,
    sent_at BIGINT, last_error TEXT, last_status BIGINT);
  CREATE INDEX notify_outbox_due ON notify_outbox (state, next_at);
  CREATE INDEX notify_outbox_alarm ON notify_outbox (alarm_id);
  CREATE INDEX notify_outbox_recipient ON notify_outbox (channel, recipient, id);
  CREATE TABLE notify_episodes (
    site_id TEXT NOT NULL, code TEXT NOT NULL, episode_id BIGINT NOT NULL, last_active BIGINT NOT NULL,
    PRIMARY KEY (site_id, code));
  -- Every alarm the notifier saw raised, and the episode it was counted in.
  CREATE TABLE notify_episode_alarms (alarm_id BIGINT PRIMARY KEY, episode_id BIGINT NOT NULL);
  CREATE TABLE notify_escalations (
    alarm_id BIGINT PRIMARY KEY, site_id TEXT NOT NULL, level BIGINT NOT NULL, next_at BIGINT NOT NULL,
    stopped TEXT);                  -- null while running; else why it stopped
  CREATE INDEX notify_escalations_due ON notify_escalations (next_at) WHERE stopped IS NULL;
  CREATE TABLE notify_webhooks (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL,
    min_severity TEXT NOT NULL, created_by TEXT, created_at BIGINT NOT NULL, disabled BIGINT NOT NULL DEFAULT 0);`,
  },
  // 6: the monthly reports queued for mailing (runtime/notify/monthly-mailing.ts), one row per site,
  // month and user, so a restart on the first of the month mails nothing twice.
  {
    sqlite: `CREATE TABLE notify_monthly_reports (
    site_id TEXT NOT NULL, month TEXT NOT NULL, user_id TEXT NOT NULL, outbox_id INTEGER NOT NULL, queued_at INTEGER NOT NULL,
    PRIMARY KEY (site_id, month, user_id)) WITHOUT ROWID;`,
    postgres: `CREATE TABLE notify_monthly_reports (
    site_id TEXT NOT NULL, month TEXT NOT NULL, user_id TEXT NOT NULL, outbox_id BIGINT NOT NULL, queued_at BIGINT NOT NULL,
    PRIMARY KEY (site_id, month, user_id));`,
  },
  // 7: the strategy settings document each site last applied (the edge's 'executed' ack), with who sent it.
  {
    sqlite: `CREATE TABLE site_settings (
    site_id TEXT PRIMARY KEY, version INTEGER NOT NULL, document TEXT NOT NULL,
    updated_by TEXT NOT NULL, updated_at INTEGER NOT NULL, command_id TEXT NOT NULL);`,
    postgres: `CREATE TABLE site_settings (
    site_id TEXT PRIMARY KEY, version BIGINT NOT NULL, document TEXT NOT NULL,
    updated_by TEXT NOT NULL, updated_at BIGINT NOT NULL, command_id TEXT NOT NULL);`,
  },
  // 8: the order commands were issued in, for commands of the same millisecond: SQLite has it in
  // the rowid already; PostgreSQL has no rowid, so an identity column keeps it.
  {
    sqlite: `-- rowid orders commands`,
    postgres: `ALTER TABLE commands ADD COLUMN seq BIGINT GENERATED BY DEFAULT AS IDENTITY;`,
  },
];
