// One valid request per route of the route table, for the RBAC matrix and the fuzz tests. Typed by
// RouteId, so a new route without a request here fails to compile.
import type { Role } from '../../../domain/contracts';
import { requiresTwoFactor } from '../../../domain/permissions';
import { DEFAULT_SETTINGS_FIELDS } from '../../../domain/site-settings/settings';
import type { RouteId } from '../../../runtime/api/routes';
import type { Fleet } from './fleet-fixture';
import { PASSWORD } from './harness';

export interface RouteRequest {
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

export interface RouteCase {
  request: () => RouteRequest;
  /** The status a caller holding the permission gets, when not the route's success status. */
  allowed?: (role: Role) => { status: number; error?: string };
}

const SETTINGS = DEFAULT_SETTINGS_FIELDS;

let n = 0;
const fresh = (prefix: string) => `${prefix}-${process.pid}-${++n}`;

export function routeCases(f: Fleet): Record<RouteId, RouteCase> {
  const hour = 3_600_000;
  const from = new Date(f.t0 - hour).toISOString();
  const to = new Date(f.t0 + hour).toISOString();
  return {
    health: { request: () => ({ path: '/health' }) },
    openapi: { request: () => ({ path: '/openapi.json' }) },
    login: { request: () => ({ path: '/auth/login', body: { email: 'viewer@a.example', password: PASSWORD } }) },
    refresh: { request: () => ({ path: '/auth/refresh', body: { refreshToken: 'not-a-real-token.x' } }), allowed: () => ({ status: 401, error: 'invalid_refresh_token' }) },
    logout: { request: () => ({ path: '/auth/logout', body: { refreshToken: 'not-a-real-token.x' } }) },
    me: { request: () => ({ path: '/auth/me' }) },
    changePassword: { request: () => ({ path: '/auth/password', body: { currentPassword: PASSWORD, newPassword: PASSWORD } }) },
    enrollTwoFactor: {
      request: () => ({ path: '/auth/2fa/enroll', body: {} }),
      // Enrolled already (every ADMIN and SUPER_ADMIN of the fleet): 409.
      allowed: (role) => (requiresTwoFactor(role) ? { status: 409, error: 'conflict' } : { status: 200 }),
    },
    verifyTwoFactor: {
      request: () => ({ path: '/auth/2fa/verify', body: { code: '000000' } }),
      allowed: (role) => (requiresTwoFactor(role) ? { status: 409, error: 'conflict' } : { status: 401, error: 'invalid_totp' }),
    },
    listSites: { request: () => ({ path: '/sites' }) },
    createSite: { request: () => ({ path: '/sites', body: { id: fresh('m'), name: 'Matrix site', lat: 52.52, lon: 13.4 } }) },
    getSite: { request: () => ({ path: '/sites/site-a' }) },
    revokeSite: { request: () => ({ path: '/sites/site-a/revoke', body: { reason: 'matrix' } }) },
    updateSite: { request: () => ({ path: '/sites/site-a', body: { name: 'Site A', lat: 52.5, lon: 13.3 } }) },
    latestTelemetry: { request: () => ({ path: '/sites/site-a/telemetry/latest' }) },
    telemetryHistory: { request: () => ({ path: '/sites/site-a/telemetry', query: { from, to, every: '15m' } }) },
    sendCommand: { request: () => ({ path: '/sites/site-a/commands', body: { type: 'setpoint', powerW: 1000, expiresInS: 60 } }) },
    listCommands: { request: () => ({ path: '/sites/site-a/commands', query: { limit: '10' } }) },
    getSiteSettings: { request: () => ({ path: '/sites/site-a/settings' }) },
    putSiteSettings: { request: () => ({ path: '/sites/site-a/settings', body: SETTINGS }) },
    putFleetSettings: { request: () => ({ path: '/settings', body: { siteIds: ['site-a'], settings: SETTINGS } }) },
    sitePlan: { request: () => ({ path: '/sites/site-a/plan' }) },
    siteFinancial: { request: () => ({ path: '/sites/site-a/financial', query: { from, to } }) },
    siteMonthlyReport: { request: () => ({ path: `/sites/site-a/reports/${new Date(f.t0).toISOString().slice(0, 7)}`, query: { format: 'json' } }) },
    listAlarms: { request: () => ({ path: '/alarms', query: { state: 'active' } }) },
    getAlarm: { request: () => ({ path: `/alarms/${f.alarmId}` }) },
    ackAlarm: { request: () => ({ path: `/alarms/${f.alarmId}/ack`, body: { note: 'seen' } }) },
    ackAlarmEpisode: { request: () => ({ path: `/alarms/${f.alarmId}/ack-episode`, body: { note: 'seen' } }) },
    ackSiteAlarms: { request: () => ({ path: '/sites/site-a/alarms/ack', body: {} }) },
    silenceAlarm: { request: () => ({ path: `/alarms/${f.alarmId}/silence`, body: { durationS: 600 } }) },
    listUsers: { request: () => ({ path: '/users' }) },
    createUser: { request: () => ({ path: '/users', body: { email: `${fresh('u')}@a.example`, password: PASSWORD, role: 'USER' } }) },
    getUser: { request: () => ({ path: `/users/${f.victim.id}` }) },
    updateUser: { request: () => ({ path: `/users/${f.victim.id}`, body: { siteIds: ['site-a'] } }) },
    resetUserTwoFactor: { request: () => ({ path: `/users/${f.victim.id}/reset-2fa`, body: {} }) },
    listOrgs: { request: () => ({ path: '/orgs' }) },
    createOrg: { request: () => ({ path: '/orgs', body: { id: fresh('org'), name: 'Matrix org' } }) },
    audit: { request: () => ({ path: '/audit', query: { limit: '5' } }) },
    // OTA: the matrix fleet has no bundle and no roll-out, so those answer 404 to a SUPER_ADMIN.
    otaBundles: { request: () => ({ path: '/ota/bundles' }) },
    otaDeployments: { request: () => ({ path: '/ota/deployments' }) },
    otaCreateDeployment: { request: () => ({ path: '/ota/deployments', body: { version: '9.9.9', siteIds: ['site-a'] } }), allowed: () => ({ status: 404, error: 'not_found' }) },
    otaDeployment: { request: () => ({ path: '/ota/deployments/no-such-deployment' }), allowed: () => ({ status: 404, error: 'not_found' }) },
    otaPause: { request: () => ({ path: '/ota/deployments/no-such-deployment/pause', body: {} }), allowed: () => ({ status: 404, error: 'not_found' }) },
    otaResume: { request: () => ({ path: '/ota/deployments/no-such-deployment/resume', body: {} }), allowed: () => ({ status: 404, error: 'not_found' }) },
    otaAbort: { request: () => ({ path: '/ota/deployments/no-such-deployment/abort', body: {} }), allowed: () => ({ status: 404, error: 'not_found' }) },
    otaCreateClaim: { request: () => ({ path: '/ota/claims', body: { siteId: 'site-a', ttlHours: 1 } }) },
    otaAllowSerials: { request: () => ({ path: '/ota/serials', body: { serials: [fresh('serial')] } }) },
    otaRenew: { request: () => ({ path: '/ota/renew', body: { certificate: 'no', csr: 'no' } }), allowed: () => ({ status: 400, error: 'invalid_request' }) },
    otaProvision: { request: () => ({ path: '/ota/provision', body: { claimToken: 'not-a-claim-token-at-all', serial: 'x', csr: 'no' } }), allowed: () => ({ status: 400, error: 'invalid_request' }) },
    // Forecasts, SoH, anomalies, model versions: readable wherever the site's telemetry is.
    mlForecast: { request: () => ({ path: '/ml/sites/site-a/forecast', query: { day: new Date(f.t0).toISOString().slice(0, 10) } }) },
    mlSoh: { request: () => ({ path: '/ml/sites/site-a/soh', query: { from, to } }) },
    mlAnomalies: { request: () => ({ path: '/ml/sites/site-a/anomalies', query: { from, to, limit: '100' } }) },
    mlModels: { request: () => ({ path: '/ml/models', query: { siteId: 'site-a' } }) },
    // Notifications: the matrix cloud has no SMTP server, so a test e-mail is refused with 409.
    myNotifications: { request: () => ({ path: '/me/notifications' }) },
    setMyNotifications: { request: () => ({ path: '/me/notifications', body: { email: true, sites: 'all', severities: ['critical'], codes: 'all', quietHours: null } }) },
    testMyNotifications: { request: () => ({ path: '/me/notifications/test', body: {} }), allowed: () => ({ status: 409, error: 'conflict' }) },
    listWebhooks: { request: () => ({ path: '/notifications/webhooks' }) },
    createWebhook: { request: () => ({ path: '/notifications/webhooks', body: { url: 'http://127.0.0.1:9/hook', minSeverity: 'critical' } }) },
    deleteWebhook: { request: () => ({ path: '/notifications/webhooks/00000000-0000-4000-8000-000000000000' }), allowed: () => ({ status: 404, error: 'not_found' }) },
    testWebhook: { request: () => ({ path: '/notifications/webhooks/00000000-0000-4000-8000-000000000000/test', body: {} }), allowed: () => ({ status: 404, error: 'not_found' }) },
    webhookDeliveries: { request: () => ({ path: '/notifications/webhooks/00000000-0000-4000-8000-000000000000/deliveries' }), allowed: () => ({ status: 404, error: 'not_found' }) },
  };
}
