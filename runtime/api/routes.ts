// The route table of /api/v1: one entry per route with its access rule (a permission of
// permissions.ts, 'authenticated', 'enrolment' or 'public'), the zod schemas of its params, query
// and body, what its :id names (checked against the sites the caller sees), its rate limits and
// whether it changes state (audited). The router (router.ts), the OpenAPI document (openapi.ts)
// and the RBAC matrix test are all generated from this one table.
import { z } from 'zod';
import { CommandAckSchema, RoleSchema, SiteIdSchema, SiteSettingsFieldsSchema } from '../../domain/contracts';
import { isFieldName } from '../../io/timeseries/fields';
import { ALARM_STATES } from './alarms';
import { AllowSerialsBody, CreateClaimBody, CreateDeploymentBody, DeploymentParams, EmptyBody, PauseBody, ProvisionBody, RevokeSiteBody } from './ota-schemas';
import { MlForecastQuery, MlModelsQuery, MlPeriodQuery } from './ml-schemas';
import { ReportParams, ReportQuery } from './report-schemas';
import { CreateWebhookBody, DeliveriesQuery, NotificationRulesSchema, WebhookParams } from './notification-schemas';
import { PasswordSchema } from './passwords';
import type { Permission } from '../../domain/permissions';

/**
 * public: anyone; authenticated: any valid access token; enrolment: an access token or the
 * enrolment token an ADMIN without 2FA receives at login; else the permission needed.
 */
export type Access = Permission | 'public' | 'authenticated' | 'enrolment';
export type LimitName = 'login' | 'twoFactor' | 'command' | 'estop';

export interface RouteSpec {
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express path below /api/v1. */
  readonly path: string;
  readonly tag: string;
  readonly summary: string;
  readonly access: Access;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** What `:id` names; a caller who may not see it gets 404, as if it did not exist. */
  readonly scope?: 'site' | 'alarm' | 'user' | 'deployment' | 'webhook';
  readonly limits?: readonly LimitName[];
  /** State-changing: every answer past validation goes to the audit log. */
  readonly audit?: boolean;
  /** Status of success. */
  readonly status: 200 | 201;
  /** Content types the route may answer with besides JSON (a file, per the query). */
  readonly files?: readonly string[];
}

// ------------------------------------------------------------------ shared pieces

/**
 * Times in the API are ISO 8601 (docs/ARCHITECTURE.md, "Conventions"), with a zone, and not before
 * 1970: the stores count ms since the epoch and hold nothing earlier.
 */
const isoTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)).pipe(z.number().nonnegative({ message: 'not before 1970-01-01T00:00:00Z' }));
/** Query values arrive as text: digits only, so '', ' 1' and '1e3' are refused, not coerced. */
const intText = (min: number, max: number) => z.string().regex(/^\d{1,12}$/, 'a whole number').transform(Number).pipe(z.number().int().min(min).max(max));
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** An interval like 30s, 15m, 1h, 1d. */
const duration = z
  .string()
  .regex(/^\d{1,6}[smhd]$/, 'a duration like 30s, 15m, 1h or 1d')
  .transform((s) => Number(s.slice(0, -1)) * UNIT_MS[s.slice(-1) as keyof typeof UNIT_MS]);
/**
 * An address with one @ and no spaces: looser than z.email(), because the first start's account is
 * admin@localhost and sites run on private networks whose mail domains have no dot.
 */
export const EmailSchema = z.string().max(254).regex(/^[^\s@]{1,64}@[^\s@]{1,189}$/, 'an email address (name@domain)');
const email = EmailSchema;
const note = z.string().trim().min(1).max(500);
const lat = z.number().min(-90).max(90);
const lon = z.number().min(-180).max(180);

const SiteParams = z.strictObject({ id: SiteIdSchema });
const AlarmParams = z.strictObject({ id: intText(1, Number.MAX_SAFE_INTEGER) });
const UserParams = z.strictObject({ id: z.uuid() });
const OrgId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');
const Empty = z.strictObject({});

export const LoginBody = z.strictObject({
  email,
  password: z.string().min(1).max(256),
  totp: z.string().regex(/^\d{6}$/, 'six digits').optional(),
  recoveryCode: z.string().min(10).max(32).optional(),
});

export const CommandRequest = z
  .strictObject({
    type: z.enum(['setpoint', 'mode', 'estop', 'reset']),
    /** Battery power, W, + = discharge; required for setpoint. */
    powerW: z.number().min(-10_000_000).max(10_000_000).optional(),
    mode: z.enum(['auto', 'standby']).optional(),
    /** How long a setpoint or standby holds at the site, s (default 900 for a setpoint). */
    expiresInS: z.number().int().min(1).max(86_400).optional(),
    /** reset only: also resume automatic operation (else the site stays at 0 W until commanded). */
    resume: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    if (c.type === 'setpoint' && c.powerW === undefined) ctx.addIssue({ code: 'custom', path: ['powerW'], message: 'a setpoint needs powerW' });
    if (c.type === 'mode' && c.mode === undefined) ctx.addIssue({ code: 'custom', path: ['mode'], message: 'a mode command needs mode' });
    if (c.type !== 'setpoint' && c.powerW !== undefined) ctx.addIssue({ code: 'custom', path: ['powerW'], message: `powerW belongs to setpoint, not ${c.type}` });
    if (c.type !== 'mode' && c.mode !== undefined) ctx.addIssue({ code: 'custom', path: ['mode'], message: `mode belongs to a mode command, not ${c.type}` });
    if ((c.type === 'estop' || c.type === 'reset') && c.expiresInS !== undefined) ctx.addIssue({ code: 'custom', path: ['expiresInS'], message: `${c.type} does not expire` });
    if (c.type !== 'reset' && c.resume !== undefined) ctx.addIssue({ code: 'custom', path: ['resume'], message: `resume belongs to reset, not ${c.type}` });
  });

/** The same settings for several sites at once (the dashboard's fleet selection). */
export const FleetSettingsBody = z.strictObject({
  siteIds: z.array(SiteIdSchema).min(1).max(200).refine((ids) => new Set(ids).size === ids.length, 'each site once'),
  settings: SiteSettingsFieldsSchema,
});

const TelemetryQuery = z
  .strictObject({
    from: isoTime,
    to: isoTime,
    every: duration.pipe(z.number().min(1000).max(31 * 86_400_000)),
    fields: z
      .string()
      .max(2000)
      .transform((s) => s.split(','))
      .pipe(z.array(z.string().refine(isFieldName, 'unknown field (see io/timeseries/fields.ts)')).min(1))
      .optional(),
  })
  .refine((q) => q.to > q.from, { message: 'to must be after from', path: ['to'] })
  .refine((q) => (q.to - q.from) / q.every <= 10_000, { message: 'at most 10000 intervals: widen every or narrow from..to', path: ['every'] });

const PeriodQuery = z
  .strictObject({
    from: isoTime.optional(),
    to: isoTime.optional(),
    /** EUR per kWh of throughput (charged + discharged), default from financial.ts. */
    degradationEurPerKwh: z.string().regex(/^\d{1,3}(\.\d{1,6})?$/, 'a decimal number').transform(Number).pipe(z.number().max(10)).optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.to > q.from, { message: 'to must be after from', path: ['to'] })
  .refine((q) => q.from === undefined || q.to === undefined || q.to - q.from <= 366 * 86_400_000, { message: 'at most 366 days', path: ['to'] });

const AlarmQuery = z.strictObject({
  siteId: SiteIdSchema.optional(),
  state: z.enum(ALARM_STATES).optional(),
  severity: z.enum(['info', 'warning', 'critical']).optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
  limit: intText(1, 1000).optional(),
});

const AuditQuery = z.strictObject({
  from: isoTime.optional(),
  to: isoTime.optional(),
  userId: z.uuid().optional(),
  action: z.string().min(1).max(64).optional(),
  limit: intText(1, 1000).optional(),
});

const atLeastOne = (o: Record<string, unknown>) => Object.values(o).some((v) => v !== undefined);

/** The refresh token in the body, or none when a browser sends it as its cookie (refresh-cookie.ts). */
const RefreshBody = z.strictObject({ refreshToken: z.string().min(10).max(200).optional() });

// ------------------------------------------------------------------ the table

function route<const R extends RouteSpec>(r: R): R {
  return r;
}

export const ROUTES = {
  // meta
  health: route({ method: 'get', path: '/health', tag: 'meta', summary: 'liveness and version', access: 'public', status: 200 }),
  openapi: route({ method: 'get', path: '/openapi.json', tag: 'meta', summary: 'this API as OpenAPI 3.1', access: 'public', status: 200 }),

  // auth
  login: route({
    method: 'post', path: '/auth/login', tag: 'auth', access: 'public', body: LoginBody, limits: ['login'], status: 200,
    summary: 'log in with email and password (+ TOTP or a recovery code when enrolled); ADMIN and SUPER_ADMIN without 2FA get an enrolment token instead of tokens',
  }),
  refresh: route({
    method: 'post', path: '/auth/refresh', tag: 'auth', access: 'public', status: 200,
    body: RefreshBody,
    summary: 'exchange a refresh token for new tokens; the old one is spent, and spending it again revokes its whole family. ' +
      'The token comes in the body (and the next one goes back in it) or, for a browser, as the httpOnly cookie lifo4_refresh that login sets (and the next one goes back as the cookie only); JSON only',
  }),
  logout: route({
    method: 'post', path: '/auth/logout', tag: 'auth', access: 'public', status: 200,
    body: RefreshBody,
    summary: "revoke the refresh token's session (its whole family): the token in the body or the lifo4_refresh cookie, which is cleared; JSON only",
  }),
  me: route({ method: 'get', path: '/auth/me', tag: 'auth', access: 'authenticated', status: 200, summary: 'who I am and what I may do' }),
  changePassword: route({
    method: 'post', path: '/auth/password', tag: 'auth', access: 'authenticated', audit: true, limits: ['twoFactor'], status: 200,
    body: z.strictObject({ currentPassword: z.string().min(1).max(256), newPassword: PasswordSchema }),
    summary: 'change my password: every session of mine ends; the answer carries fresh tokens for this one',
  }),
  enrollTwoFactor: route({
    method: 'post', path: '/auth/2fa/enroll', tag: 'auth', access: 'enrolment', audit: true, body: Empty, status: 200,
    summary: 'start TOTP enrolment: otpauth URI, QR code (SVG) and one-time recovery codes, active once verified',
  }),
  verifyTwoFactor: route({
    method: 'post', path: '/auth/2fa/verify', tag: 'auth', access: 'enrolment', audit: true, limits: ['twoFactor'], status: 200,
    body: z.strictObject({ code: z.string().regex(/^\d{6}$/, 'six digits') }),
    summary: 'confirm TOTP enrolment with a current code; answers with fresh tokens',
  }),

  // sites and telemetry
  listSites: route({ method: 'get', path: '/sites', tag: 'sites', access: 'sites:read', status: 200, summary: 'the sites I may see, with state, position and latest values' }),
  createSite: route({
    method: 'post', path: '/sites', tag: 'sites', access: 'sites:manage', audit: true, status: 201,
    body: z.strictObject({ id: SiteIdSchema, name: z.string().trim().min(1).max(128).optional(), lat: lat.optional(), lon: lon.optional(), orgId: OrgId.optional() }),
    summary: 'register a site (sites also register themselves on their first message)',
  }),
  getSite: route({ method: 'get', path: '/sites/:id', tag: 'sites', access: 'sites:read', params: SiteParams, scope: 'site', status: 200, summary: 'one site with its latest values and open alarms' }),
  updateSite: route({
    method: 'patch', path: '/sites/:id', tag: 'sites', access: 'sites:manage', params: SiteParams, scope: 'site', audit: true, status: 200,
    body: z.strictObject({ name: z.string().trim().min(1).max(128).optional(), lat: lat.nullable().optional(), lon: lon.nullable().optional() }).refine(atLeastOne, 'nothing to change'),
    summary: 'rename a site or place it on the map',
  }),
  revokeSite: route({
    method: 'post', path: '/sites/:id/revoke', tag: 'sites', access: 'sites:manage', params: SiteParams, scope: 'site', body: RevokeSiteBody, audit: true, status: 200,
    summary: "revoke the site's device certificates and refuse its password at the broker (a new device needs a new claim)",
  }),
  latestTelemetry: route({ method: 'get', path: '/sites/:id/telemetry/latest', tag: 'telemetry', access: 'telemetry:read', params: SiteParams, scope: 'site', status: 200, summary: "the site's newest record, flattened to fields" }),
  telemetryHistory: route({
    method: 'get', path: '/sites/:id/telemetry', tag: 'telemetry', access: 'telemetry:read', params: SiteParams, query: TelemetryQuery, scope: 'site', status: 200,
    summary: 'history aggregated per interval (mean, min, max per field)',
  }),
  sendCommand: route({
    method: 'post', path: '/sites/:id/commands', tag: 'commands', access: 'commands:send', params: SiteParams, body: CommandRequest, scope: 'site',
    limits: ['command', 'estop'], audit: true, status: 200,
    summary: "send setpoint, mode, estop or reset (reset needs commands:reset); answers with the site's final ack (executed 200, rejected 409, timeout 504); 'accepted' comes first over realtime",
  }),
  listCommands: route({
    method: 'get', path: '/sites/:id/commands', tag: 'commands', access: 'commands:read', params: SiteParams, scope: 'site', status: 200,
    query: z.strictObject({ limit: intText(1, 1000).optional() }),
    summary: 'recent commands of the site with their outcome',
  }),
  getSiteSettings: route({
    method: 'get', path: '/sites/:id/settings', tag: 'settings', access: 'settings:read', params: SiteParams, scope: 'site', status: 200,
    summary: "the strategy settings document the site last applied (null: none sent, the site's flow uses its nodes' own configuration)",
  }),
  putSiteSettings: route({
    method: 'put', path: '/sites/:id/settings', tag: 'settings', access: 'settings:write', params: SiteParams, scope: 'site', body: SiteSettingsFieldsSchema,
    limits: ['command'], audit: true, status: 200,
    summary: "send a strategy settings document (next version) as a signed command; answers with what the site did: applied 200, refused with the reasons 409, no answer 504",
  }),
  putFleetSettings: route({
    method: 'put', path: '/settings', tag: 'settings', access: 'settings:write', body: FleetSettingsBody, limits: ['command'], audit: true, status: 200,
    summary: "send one strategy settings document to a selection of sites (each its next version); answers with each site's outcome: applied, rejected with the reasons, timeout or error",
  }),
  sitePlan: route({ method: 'get', path: '/sites/:id/plan', tag: 'optimization', access: 'plans:read', params: SiteParams, scope: 'site', status: 200, summary: 'the current optimisation plan and its parameters' }),
  siteFinancial: route({
    method: 'get', path: '/sites/:id/financial', tag: 'financial', access: 'financial:read', params: SiteParams, query: PeriodQuery, scope: 'site', status: 200,
    summary: 'arbitrage revenue, full cycles and degradation cost over a period (default the last 24 h)',
  }),
  siteMonthlyReport: route({
    method: 'get', path: '/sites/:id/reports/:month', tag: 'financial', access: 'financial:read', params: ReportParams, query: ReportQuery, scope: 'site', status: 200, files: ['text/csv', 'application/pdf'],
    summary: "the site's report of a calendar month (UTC, yyyy-mm): energy, cycles, SoH, availability, alarms, bill with and without the battery, import peak; format json (default), csv or pdf (README, \"Monthly report\")",
  }),

  // alarms
  listAlarms: route({ method: 'get', path: '/alarms', tag: 'alarms', access: 'alarms:read', query: AlarmQuery, status: 200, summary: 'alarms of my sites, newest first, filtered' }),
  getAlarm: route({ method: 'get', path: '/alarms/:id', tag: 'alarms', access: 'alarms:read', params: AlarmParams, scope: 'alarm', status: 200, summary: 'one alarm with its history' }),
  ackAlarm: route({
    method: 'post', path: '/alarms/:id/ack', tag: 'alarms', access: 'alarms:ack', params: AlarmParams, scope: 'alarm', audit: true, status: 200,
    body: z.strictObject({ note: note.optional() }),
    summary: 'acknowledge an alarm',
  }),
  ackAlarmEpisode: route({
    method: 'post', path: '/alarms/:id/ack-episode', tag: 'alarms', access: 'alarms:ack', params: AlarmParams, scope: 'alarm', audit: true, status: 200,
    body: z.strictObject({ note: note.optional() }),
    summary: "acknowledge every active alarm of this alarm's episode (its root event and the alarms it set off)",
  }),
  ackSiteAlarms: route({
    method: 'post', path: '/sites/:id/alarms/ack', tag: 'alarms', access: 'alarms:ack', params: SiteParams, scope: 'site', audit: true, status: 200,
    body: z.strictObject({ note: note.optional() }),
    summary: 'acknowledge every active alarm of a site',
  }),
  silenceAlarm: route({
    method: 'post', path: '/alarms/:id/silence', tag: 'alarms', access: 'alarms:silence', params: AlarmParams, scope: 'alarm', audit: true, status: 200,
    body: z.strictObject({ durationS: z.number().int().min(60).max(7 * 86_400), note: note.optional() }),
    summary: "mute an alarm's notifications until the silence expires",
  }),

  // administration
  listUsers: route({ method: 'get', path: '/users', tag: 'users', access: 'users:read', query: z.strictObject({ orgId: OrgId.optional() }), status: 200, summary: 'users of my organisation (all for SUPER_ADMIN)' }),
  createUser: route({
    method: 'post', path: '/users', tag: 'users', access: 'users:manage', audit: true, status: 201,
    body: z.strictObject({ email, password: PasswordSchema, role: RoleSchema, orgId: OrgId.optional(), siteIds: z.array(SiteIdSchema).max(1000).optional() }),
    summary: 'create a user with a role below mine (organisation: mine unless SUPER_ADMIN)',
  }),
  getUser: route({ method: 'get', path: '/users/:id', tag: 'users', access: 'users:read', params: UserParams, scope: 'user', status: 200, summary: 'one user' }),
  updateUser: route({
    method: 'patch', path: '/users/:id', tag: 'users', access: 'users:manage', params: UserParams, scope: 'user', audit: true, status: 200,
    body: z.strictObject({ role: RoleSchema.optional(), siteIds: z.array(SiteIdSchema).max(1000).optional(), disabled: z.boolean().optional(), password: PasswordSchema.optional() }).refine(atLeastOne, 'nothing to change'),
    summary: 'change the role, assigned sites, password or disabled flag of a user below me',
  }),
  resetUserTwoFactor: route({
    method: 'post', path: '/users/:id/reset-2fa', tag: 'users', access: 'users:reset-2fa', params: UserParams, scope: 'user', audit: true, body: Empty, status: 200,
    summary: "remove a user's TOTP and recovery codes (they enrol again at the next login)",
  }),
  listOrgs: route({ method: 'get', path: '/orgs', tag: 'users', access: 'orgs:manage', status: 200, summary: 'organisations' }),
  createOrg: route({
    method: 'post', path: '/orgs', tag: 'users', access: 'orgs:manage', audit: true, status: 201,
    body: z.strictObject({ id: OrgId, name: z.string().trim().min(1).max(128) }),
    summary: 'create an organisation',
  }),
  audit: route({ method: 'get', path: '/audit', tag: 'audit', access: 'audit:read', query: AuditQuery, status: 200, summary: 'audit log, newest first (my organisation; all for SUPER_ADMIN)' }),

  // OTA: signed bundles, canary roll-outs, zero-touch provisioning
  otaBundles: route({ method: 'get', path: '/ota/bundles', tag: 'ota', access: 'ota:deploy', status: 200, summary: 'signed bundles in the cloud\'s bundle store, newest first' }),
  otaDeployments: route({ method: 'get', path: '/ota/deployments', tag: 'ota', access: 'ota:deploy', status: 200, summary: 'roll-outs, newest first, with their counts' }),
  otaCreateDeployment: route({
    method: 'post', path: '/ota/deployments', tag: 'ota', access: 'ota:deploy', body: CreateDeploymentBody, audit: true, status: 201,
    summary: 'start a canary roll-out of a bundle to sites: stages 5/25/50/100 % by default, each at least 24 h, advancing on its success share, pausing on failures',
  }),
  otaDeployment: route({ method: 'get', path: '/ota/deployments/:id', tag: 'ota', access: 'ota:deploy', params: DeploymentParams, scope: 'deployment', status: 200, summary: 'one roll-out with the status of every site' }),
  otaPause: route({ method: 'post', path: '/ota/deployments/:id/pause', tag: 'ota', access: 'ota:deploy', params: DeploymentParams, scope: 'deployment', body: PauseBody, audit: true, status: 200, summary: 'pause a roll-out (no new notices)' }),
  otaResume: route({ method: 'post', path: '/ota/deployments/:id/resume', tag: 'ota', access: 'ota:deploy', params: DeploymentParams, scope: 'deployment', body: EmptyBody, audit: true, status: 200, summary: 'resume a paused roll-out (failures so far are accepted)' }),
  otaAbort: route({ method: 'post', path: '/ota/deployments/:id/abort', tag: 'ota', access: 'ota:deploy', params: DeploymentParams, scope: 'deployment', body: EmptyBody, audit: true, status: 200, summary: 'abort a roll-out for good' }),
  otaCreateClaim: route({ method: 'post', path: '/ota/claims', tag: 'ota', access: 'ota:deploy', body: CreateClaimBody, audit: true, status: 201, summary: 'a one-use claim token for a new edge of a site (shown once)' }),
  otaAllowSerials: route({ method: 'post', path: '/ota/serials', tag: 'ota', access: 'ota:deploy', body: AllowSerialsBody, audit: true, status: 200, summary: 'add device serials to the provisioning allow-list' }),
  otaProvision: route({
    method: 'post', path: '/ota/provision', tag: 'ota', access: 'public', body: ProvisionBody, status: 200,
    summary: 'zero-touch provisioning: claim token + serial + P-256 CSR -> client certificate, CA chain, broker, fleet key, first bundle (a claim works once)',
  }),
  otaRenew: route({
    method: 'post', path: '/ota/renew', tag: 'ota', access: 'public', body: ProvisionBody, status: 200,
    summary: "a device's new client certificate: its current, unrevoked certificate + a CSR for the same key -> certificate, CA chain",
  }),

  // forecasts, state of health, anomaly scores, model versions: whoever reads the site's telemetry
  mlForecast: route({
    method: 'get', path: '/ml/sites/:id/forecast', tag: 'ml', access: 'telemetry:read', params: SiteParams, query: MlForecastQuery, scope: 'site', status: 200,
    summary: "a site-local day's load forecasts (the edge's and the cloud's, newest of each) against the actual load from the store, kW per 15 min, with each forecast's error",
  }),
  mlSoh: route({
    method: 'get', path: '/ml/sites/:id/soh', tag: 'ml', access: 'telemetry:read', params: SiteParams, query: MlPeriodQuery, scope: 'site', status: 200,
    summary: 'state-of-health estimates over a period (default the last 365 days), oldest first',
  }),
  mlAnomalies: route({
    method: 'get', path: '/ml/sites/:id/anomalies', tag: 'ml', access: 'telemetry:read', params: SiteParams, query: MlPeriodQuery, scope: 'site', status: 200,
    summary: 'anomaly scores per cycle over a period (default the last 90 days) with the alarm threshold, oldest first',
  }),
  mlModels: route({
    method: 'get', path: '/ml/models', tag: 'ml', access: 'telemetry:read', query: MlModelsQuery, status: 200,
    summary: "the models my sites' results came from, and every retraining with the scores of the current model and the candidate and which one stayed",
  }),
  // notifications: my rules, a test mail, the organisation's webhooks (README, "Notifications")
  myNotifications: route({
    method: 'get', path: '/me/notifications', tag: 'notifications', access: 'authenticated', status: 200,
    summary: 'my notification rules (the defaults of my role until I save my own), whether e-mail is configured, and my recent e-mails',
  }),
  setMyNotifications: route({
    method: 'put', path: '/me/notifications', tag: 'notifications', access: 'authenticated', body: NotificationRulesSchema, audit: true, status: 200,
    summary: 'replace my notification rules: e-mail on or off, sites (or all I see), severities, alarm codes, quiet hours with a time zone',
  }),
  testMyNotifications: route({
    method: 'post', path: '/me/notifications/test', tag: 'notifications', access: 'authenticated', body: Empty, audit: true, status: 201,
    summary: 'queue a test e-mail to me (409 when no SMTP server is configured); quiet hours do not hold it',
  }),
  listWebhooks: route({ method: 'get', path: '/notifications/webhooks', tag: 'notifications', access: 'webhooks:manage', status: 200, summary: "my organisation's webhooks (all for SUPER_ADMIN)" }),
  createWebhook: route({
    method: 'post', path: '/notifications/webhooks', tag: 'notifications', access: 'webhooks:manage', body: CreateWebhookBody, audit: true, status: 201,
    summary: "register a webhook for my organisation's alarms; the answer carries its HMAC signing secret, shown this once",
  }),
  deleteWebhook: route({
    method: 'delete', path: '/notifications/webhooks/:id', tag: 'notifications', access: 'webhooks:manage', params: WebhookParams, scope: 'webhook', audit: true, status: 200,
    summary: 'remove a webhook (its delivery log stays)',
  }),
  testWebhook: route({
    method: 'post', path: '/notifications/webhooks/:id/test', tag: 'notifications', access: 'webhooks:manage', params: WebhookParams, scope: 'webhook', body: Empty, audit: true, status: 201,
    summary: 'queue a signed test delivery to a webhook',
  }),
  webhookDeliveries: route({
    method: 'get', path: '/notifications/webhooks/:id/deliveries', tag: 'notifications', access: 'webhooks:manage', params: WebhookParams, scope: 'webhook', query: DeliveriesQuery, status: 200,
    summary: "a webhook's delivery log, newest first: state, attempts, the last answer or error",
  }),
} as const satisfies Record<string, RouteSpec>;

export type RouteId = keyof typeof ROUTES;
export const ROUTE_IDS = Object.keys(ROUTES) as RouteId[];

/** Schemas of response bodies the OpenAPI document names. */
export const CommandAckResponse = z.object({ id: z.string(), outcome: z.enum(['executed']), ack: CommandAckSchema });
