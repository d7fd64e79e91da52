// The typed API client: one function per route the dashboard uses. Every call goes through
// CLIENT_ROUTES, the list of (method, path, query and body fields) the dashboard relies on;
// tests/api/openapi.test.ts checks that list against the API's OpenAPI document (the saved copy
// api/openapi.json, itself compared with the document the API's code generates), so a route or
// field renamed on the server fails a test instead of failing in an operator's browser.
import { ApiRequestError, request, type Query } from './http';
import type {
  AlarmState, AlarmView, AuditView, CommandAck, CommandRecord, CommandRequest, FinancialSummary, LatestView, PlanResponse, Role, Severity, SiteDetail,
  SiteView, TelemetryBucket, UserView,
} from './types';
import type { AnomalyHistory, DayForecast, ModelVersions, SohPoint } from './ml-types';
import type { MonthlyReport } from '../../../domain/reports/monthly';
import type { Delivery, MyNotifications, NewWebhook, NotificationRules, Webhook } from '../views/notifications/notification-types';
import type { SettingsOutcome, SiteSettingsFields, SiteSettingsView } from './settings-types';

/** The fields of a settings document (domain/site-settings/settings.ts SiteSettingsFieldsSchema). */
const SETTINGS_FIELDS = ['arbitrageEnabled', 'reserveSocPct', 'socMinPct', 'socMaxPct', 'peakShavingMode', 'peakShavingThresholdKw', 'tariff', 'blackStartEnabled'] as const;

interface ClientRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI form: /sites/{id}. */
  path: string;
  query?: readonly string[];
  body?: readonly string[];
}

export const CLIENT_ROUTES = {
  login: { method: 'post', path: '/auth/login', body: ['email', 'password', 'totp', 'recoveryCode'] },
  // The refresh token travels only as the httpOnly cookie the API sets at login: these send {}.
  refresh: { method: 'post', path: '/auth/refresh', body: [] },
  logout: { method: 'post', path: '/auth/logout', body: [] },
  me: { method: 'get', path: '/auth/me' },
  enroll: { method: 'post', path: '/auth/2fa/enroll', body: [] },
  verify: { method: 'post', path: '/auth/2fa/verify', body: ['code'] },
  listSites: { method: 'get', path: '/sites' },
  getSite: { method: 'get', path: '/sites/{id}' },
  updateSite: { method: 'patch', path: '/sites/{id}', body: ['name', 'lat', 'lon'] },
  latest: { method: 'get', path: '/sites/{id}/telemetry/latest' },
  history: { method: 'get', path: '/sites/{id}/telemetry', query: ['from', 'to', 'every', 'fields'] },
  sendCommand: { method: 'post', path: '/sites/{id}/commands', body: ['type', 'powerW', 'mode', 'expiresInS', 'resume'] },
  listCommands: { method: 'get', path: '/sites/{id}/commands', query: ['limit'] },
  plan: { method: 'get', path: '/sites/{id}/plan' },
  // strategy settings (types in views/settings/settings-form.ts)
  getSiteSettings: { method: 'get', path: '/sites/{id}/settings' },
  putSiteSettings: { method: 'put', path: '/sites/{id}/settings', body: SETTINGS_FIELDS },
  putFleetSettings: { method: 'put', path: '/settings', body: ['siteIds', 'settings'] },
  financial: { method: 'get', path: '/sites/{id}/financial', query: ['from', 'to', 'degradationEurPerKwh'] },
  monthlyReport: { method: 'get', path: '/sites/{id}/reports/{month}', query: ['format'] },
  listAlarms: { method: 'get', path: '/alarms', query: ['siteId', 'state', 'severity', 'from', 'to', 'limit'] },
  ackAlarm: { method: 'post', path: '/alarms/{id}/ack', body: ['note'] },
  ackAlarmEpisode: { method: 'post', path: '/alarms/{id}/ack-episode', body: ['note'] },
  ackSiteAlarms: { method: 'post', path: '/sites/{id}/alarms/ack', body: ['note'] },
  silenceAlarm: { method: 'post', path: '/alarms/{id}/silence', body: ['durationS', 'note'] },
  listUsers: { method: 'get', path: '/users', query: ['orgId'] },
  createUser: { method: 'post', path: '/users', body: ['email', 'password', 'role', 'orgId', 'siteIds'] },
  updateUser: { method: 'patch', path: '/users/{id}', body: ['role', 'siteIds', 'disabled', 'password'] },
  reset2fa: { method: 'post', path: '/users/{id}/reset-2fa', body: [] },
  audit: { method: 'get', path: '/audit', query: ['from', 'to', 'userId', 'action', 'limit'] },
  // OTA (types in views/ota/ota-types.ts)
  otaBundles: { method: 'get', path: '/ota/bundles' },
  otaDeployments: { method: 'get', path: '/ota/deployments' },
  otaCreateDeployment: { method: 'post', path: '/ota/deployments', body: ['version', 'siteIds', 'stages', 'stageHours', 'successShare', 'failureShare', 'minSites', 'silentMinutes'] },
  otaDeployment: { method: 'get', path: '/ota/deployments/{id}' },
  otaPause: { method: 'post', path: '/ota/deployments/{id}/pause', body: ['reason'] },
  otaResume: { method: 'post', path: '/ota/deployments/{id}/resume', body: [] },
  otaAbort: { method: 'post', path: '/ota/deployments/{id}/abort', body: [] },
  // forecasts, SoH, anomalies, model versions (types in api/ml-types.ts)
  mlForecast: { method: 'get', path: '/ml/sites/{id}/forecast', query: ['day'] },
  mlSoh: { method: 'get', path: '/ml/sites/{id}/soh', query: ['from', 'to', 'limit'] },
  mlAnomalies: { method: 'get', path: '/ml/sites/{id}/anomalies', query: ['from', 'to', 'limit'] },
  mlModels: { method: 'get', path: '/ml/models', query: ['siteId', 'limit'] },
  // notifications (types in views/notifications/notification-types.ts)
  myNotifications: { method: 'get', path: '/me/notifications' },
  setMyNotifications: { method: 'put', path: '/me/notifications', body: ['email', 'sites', 'severities', 'codes', 'quietHours'] },
  testMyNotifications: { method: 'post', path: '/me/notifications/test', body: [] },
  listWebhooks: { method: 'get', path: '/notifications/webhooks' },
  createWebhook: { method: 'post', path: '/notifications/webhooks', body: ['url', 'minSeverity'] },
  deleteWebhook: { method: 'delete', path: '/notifications/webhooks/{id}' },
  testWebhook: { method: 'post', path: '/notifications/webhooks/{id}/test', body: [] },
  webhookDeliveries: { method: 'get', path: '/notifications/webhooks/{id}/deliveries', query: ['limit'] },
} as const satisfies Record<string, ClientRoute>;

type RouteName = keyof typeof CLIENT_ROUTES;
type BodyOf<N extends RouteName> = (typeof CLIENT_ROUTES)[N] extends { body: readonly (infer K extends string)[] } ? Partial<Record<K, unknown>> : never;
type QueryOf<N extends RouteName> = (typeof CLIENT_ROUTES)[N] extends { query: readonly (infer K extends string)[] } ? Partial<Record<K, Query[string]>> : never;

type CallOptions<N extends RouteName> = { id?: string | number; body?: BodyOf<N>; query?: QueryOf<N>; auth?: boolean; token?: string; text?: boolean };

/** Calls a route of CLIENT_ROUTES (only its declared body and query fields type-check): `call('me').as<UserView>()`. */
function call<N extends RouteName>(name: N, opts: CallOptions<N> = {}): { as<T>(): Promise<T> } {
  const r: ClientRoute = CLIENT_ROUTES[name];
  const path = r.path.replace('{id}', opts.id === undefined ? '' : encodeURIComponent(String(opts.id)));
  return {
    as: <T>() => request<T>(r.method.toUpperCase(), path, { body: opts.body ?? (r.body ? {} : undefined), query: opts.query as Query | undefined, auth: opts.auth, token: opts.token, text: opts.text }),
  };
}

/**
 * What the dashboard keeps of a session: the access token, in memory only. The refresh token that
 * login also answers with is left alone: the browser holds it as an httpOnly cookie that page
 * scripts cannot read, and a refresh renews it the same way.
 */
export interface Session {
  accessToken: string;
  user?: UserView;
}

export type LoginOutcome =
  | { kind: 'ok'; tokens: Session }
  /** The password was right; the account has 2FA: ask for the code. */
  | { kind: 'totp' }
  /** ADMIN and above without 2FA: they must enrol before they get a session. */
  | { kind: 'enrol'; enrolmentToken: string };

export interface Enrolment {
  otpauthUri: string;
  qrSvg: string;
  secret?: string;
  recoveryCodes?: string[];
}

/** A 6-digit TOTP code, else a recovery code. */
export function secondFactor(code: string | undefined): { totp?: string; recoveryCode?: string } {
  if (!code) return {};
  return /^\d{6}$/.test(code) ? { totp: code } : { recoveryCode: code };
}

export const authApi = {
  async login(email: string, password: string, code?: string): Promise<LoginOutcome> {
    try {
      const body = await call('login', { auth: false, body: { email, password, ...secondFactor(code) } }).as<Partial<Session> & { enrolmentToken?: string; enrollmentToken?: string }>();
      const enrol = body.enrolmentToken ?? body.enrollmentToken;
      if (enrol && !body.accessToken) return { kind: 'enrol', enrolmentToken: enrol };
      if (!body.accessToken) throw new ApiRequestError(500, 'bad_answer', 'the server answered without tokens');
      return { kind: 'ok', tokens: { accessToken: body.accessToken, ...(body.user ? { user: body.user } : {}) } };
    } catch (err) {
      if (err instanceof ApiRequestError && err.code === 'totp_required') return { kind: 'totp' };
      if (err instanceof ApiRequestError && /enrol+ment_required/.test(err.code)) {
        const d = err.details as { enrollmentToken?: unknown; enrolmentToken?: unknown } | undefined;
        const t = d?.enrollmentToken ?? d?.enrolmentToken;
        if (typeof t === 'string') return { kind: 'enrol', enrolmentToken: t };
      }
      throw err;
    }
  },
  refresh: () => call('refresh', { auth: false }).as<Session>(),
  logout: () => call('logout', { auth: false }).as<void>(),
  me: () => call('me').as<UserView | { user: UserView }>().then((r) => ('user' in r ? r.user : r)),
  /** Starts an enrolment: with the enrolment token before the first sign-in, else with the session. */
  enrolStart: (enrolmentToken?: string) => call('enroll', enrolmentToken ? { token: enrolmentToken } : {}).as<Enrolment>(),
  enrolConfirm: (code: string, enrolmentToken?: string) =>
    call('verify', enrolmentToken ? { token: enrolmentToken, body: { code } } : { body: { code } }).as<Partial<Session>>(),
};

function listOf<T>(r: T[] | Record<string, unknown>, key: string): T[] {
  if (Array.isArray(r)) return r;
  const v = r[key];
  return Array.isArray(v) ? (v as T[]) : [];
}

export const sitesApi = {
  list: () => call('listSites').as<SiteView[] | { sites: SiteView[] }>().then((r) => listOf<SiteView>(r, 'sites')),
  get: (id: string) => call('getSite', { id }).as<SiteDetail>(),
  update: (id: string, patch: { name?: string; lat?: number | null; lon?: number | null }) => call('updateSite', { id, body: patch }).as<SiteView>(),
  latest: (id: string) => call('latest', { id }).as<LatestView | null>(),
  history: (id: string, q: { from: string; to: string; every: string; fields?: readonly string[] }) =>
    call('history', { id, query: { from: q.from, to: q.to, every: q.every, fields: q.fields?.join(',') } }).as<{ buckets: TelemetryBucket[] }>(),
};

export const commandsApi = {
  /** Resolves with the site's final ack; a rejected or timed-out command is an ApiRequestError (409, 504) carrying it. */
  send: (siteId: string, cmd: CommandRequest) => call('sendCommand', { id: siteId, body: { ...cmd } }).as<{ id: string; outcome: string; ack?: CommandAck }>(),
  list: (siteId: string, limit = 20) => call('listCommands', { id: siteId, query: { limit } }).as<{ commands: CommandRecord[] }>().then((r) => r.commands),
};

export interface AlarmQuery {
  siteId?: string;
  state?: AlarmState;
  severity?: Severity;
  from?: string;
  to?: string;
  limit?: number;
}

export const alarmsApi = {
  list: (q: AlarmQuery = {}) => call('listAlarms', { query: { ...q } }).as<AlarmView[] | { alarms: AlarmView[] }>().then((r) => listOf<AlarmView>(r, 'alarms')),
  ack: (id: number, note?: string) => call('ackAlarm', { id, body: note ? { note } : {} }).as<AlarmView | { alarm: AlarmView }>().then(unwrapAlarm),
  /** Acknowledges the active alarms of the episode `id` belongs to; resolves with the whole episode. */
  ackEpisode: (id: number, note?: string) => call('ackAlarmEpisode', { id, body: note ? { note } : {} }).as<{ episodeId: number; alarms: AlarmView[] }>(),
  /** Acknowledges every active alarm of a site; resolves with those acknowledged. */
  ackSite: (siteId: string, note?: string) => call('ackSiteAlarms', { id: siteId, body: note ? { note } : {} }).as<{ siteId: string; alarms: AlarmView[] }>(),
  silence: (id: number, durationS: number, note?: string) =>
    call('silenceAlarm', { id, body: note ? { durationS, note } : { durationS } }).as<AlarmView | { alarm: AlarmView }>().then(unwrapAlarm),
};

function unwrapAlarm(r: AlarmView | { alarm: AlarmView }): AlarmView {
  return 'alarm' in r ? r.alarm : r;
}

export const plansApi = {
  latest: (siteId: string) => call('plan', { id: siteId }).as<PlanResponse>(),
};

export const settingsApi = {
  get: (siteId: string) => call('getSiteSettings', { id: siteId }).as<SiteSettingsView>(),
  /** Resolves when the site applied it; a refusal (409, with the reasons) or no answer (504) is an ApiRequestError carrying the outcome. */
  put: (siteId: string, fields: SiteSettingsFields) => call('putSiteSettings', { id: siteId, body: { ...fields } }).as<SettingsOutcome>(),
  /** Every site's outcome, applied or not (200 unless the request itself is refused). */
  putMany: (siteIds: string[], fields: SiteSettingsFields) => call('putFleetSettings', { body: { siteIds, settings: fields } }).as<{ applied: number; total: number; results: SettingsOutcome[] }>(),
};

export const financialApi = {
  summary: (siteId: string, q: { from: string; to: string; degradationEurPerKwh?: string }) => call('financial', { id: siteId, query: q }).as<FinancialSummary>(),
};

/** The monthly report (domain/reports/monthly.ts): JSON for the page, CSV and PDF as files. */
export const reportsApi = {
  path: (siteId: string, month: string) => CLIENT_ROUTES.monthlyReport.path.replace('{id}', encodeURIComponent(siteId)).replace('{month}', encodeURIComponent(month)),
  get: (siteId: string, month: string) => request<MonthlyReport>('GET', reportsApi.path(siteId, month), { query: { format: 'json' } }),
  file: (siteId: string, month: string, format: 'csv' | 'pdf') => request<Blob>('GET', reportsApi.path(siteId, month), { query: { format }, blob: true }),
};

export const usersApi = {
  list: () => call('listUsers').as<UserView[] | { users: UserView[] }>().then((r) => listOf<UserView>(r, 'users')),
  create: (u: { email: string; password: string; role: Role; siteIds?: string[] }) => call('createUser', { body: u }).as<UserView>(),
  update: (id: string, patch: { role?: Role; siteIds?: string[]; disabled?: boolean }) => call('updateUser', { id, body: patch }).as<UserView>(),
  reset2fa: (id: string) => call('reset2fa', { id }).as<UserView>(),
};

export const auditApi = {
  list: (q: { from?: string; to?: string; action?: string; limit?: number } = {}) =>
    call('audit', { query: q }).as<AuditView[] | { entries: AuditView[] }>().then((r) => listOf<AuditView>(r, 'entries')),
};

/** OTA roll-outs (SUPER_ADMIN): the types are the API's RolloutView / TargetView / BundleInfo. */
export const otaApi = {
  bundles: <T>() => call('otaBundles').as<{ bundles: T[] }>().then((r) => r.bundles),
  deployments: <T>() => call('otaDeployments').as<{ deployments: T[] }>().then((r) => r.deployments),
  deployment: <T>(id: string) => call('otaDeployment', { id }).as<T>(),
  create: <T>(body: { version: string; siteIds: string[]; stages?: number[]; stageHours?: number; successShare?: number; failureShare?: number; minSites?: number; silentMinutes?: number }) =>
    call('otaCreateDeployment', { body }).as<T>(),
  pause: <T>(id: string, reason?: string) => call('otaPause', { id, body: reason ? { reason } : {} }).as<T>(),
  resume: <T>(id: string) => call('otaResume', { id }).as<T>(),
  abort: <T>(id: string) => call('otaAbort', { id }).as<T>(),
};

/** Forecasts against actual load, SoH history, anomaly scores, model versions. */
export const mlApi = {
  /** `day` YYYY-MM-DD, the site-local day; default today. */
  forecast: (siteId: string, day?: string) => call('mlForecast', { id: siteId, query: { day } }).as<DayForecast>(),
  soh: (siteId: string, q: { from?: string; to?: string } = {}) => call('mlSoh', { id: siteId, query: q }).as<{ points: SohPoint[] }>().then((r) => r.points),
  anomalies: (siteId: string, q: { from?: string; to?: string } = {}) => call('mlAnomalies', { id: siteId, query: q }).as<AnomalyHistory>(),
  models: (siteId?: string) => call('mlModels', { query: { siteId } }).as<ModelVersions>(),
};

export const notificationsApi = {
  mine: () => call('myNotifications').as<MyNotifications>(),
  save: (rules: NotificationRules) => call('setMyNotifications', { body: { ...rules } }).as<MyNotifications>(),
  test: () => call('testMyNotifications').as<{ id: number; to: string; state: string }>(),
  webhooks: () => call('listWebhooks').as<{ webhooks: Webhook[] }>().then((r) => r.webhooks),
  createWebhook: (url: string, minSeverity: Severity) => call('createWebhook', { body: { url, minSeverity } }).as<NewWebhook>(),
  deleteWebhook: (id: string) => call('deleteWebhook', { id }).as<Webhook>(),
  testWebhook: (id: string) => call('testWebhook', { id }).as<{ id: number }>(),
  deliveries: (id: string) => call('webhookDeliveries', { id, query: { limit: 20 } }).as<{ deliveries: Delivery[] }>().then((r) => r.deliveries),
};
