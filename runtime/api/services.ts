// What the route handlers work with, and the typed shape of a handler: its params, query and body
// are the outputs of the route's zod schemas, so a handler never sees unchecked input.
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { FleetHub } from '../../io/fleet-hub';
import type { TimeseriesStore } from '../../io/timeseries/store';
import type { FreshnessLimits } from '../../domain/freshness';
import type { AlarmStore } from './alarms';
import type { Notifier } from '../notify/notifier';
import type { WebhookStore } from '../notify/webhooks';
import type { AuditLog } from './audit';
import type { CloudDb } from '../cloud-db/cloud-db';
import type { LoginThrottle } from './login-throttle';
import type { ApiMetrics } from './metrics';
import type { PlanStore } from './plans';
import type { RouteId, ROUTES, RouteSpec } from './routes';
import type { SiteStore } from './sites';
import type { Principal, TokenService } from './tokens';
import type { SecretBox } from './totp';
import type { UserStore } from './users';

export interface Services {
  db: CloudDb;
  users: UserStore;
  tokens: TokenService;
  sites: SiteStore;
  alarms: AlarmStore;
  audit: AuditLog;
  plans: PlanStore;
  hub: FleetHub;
  /** The time-series store the host opened (what the flow's timeseries-out writes); null = none. */
  store: TimeseriesStore | null;
  box: SecretBox;
  metrics: ApiMetrics;
  /** A bcrypt hash of nothing, compared against when an email is unknown (equal timing). */
  decoyHash: string;
  /** The per-account brake on password and TOTP guesses, shared with the editor's sign-in. */
  throttle: LoginThrottle;
  /** When a site's telemetry counts as stale and its link as lost (domain/freshness.ts). */
  freshness: FreshnessLimits;
  /** Tells the realtime channel that who-sees-which-site may have changed. */
  visibilityChanged: () => void;
  /** Alarm notifications: rules, the outbox, escalation (runtime/notify). */
  notifier: Notifier;
  webhooks: WebhookStore;
}

type Part<R, K extends 'params' | 'query' | 'body'> = R extends { readonly [P in K]: infer S extends z.ZodType } ? z.output<S> : undefined;

export interface Ctx<R extends RouteSpec> {
  params: Part<R, 'params'>;
  query: Part<R, 'query'>;
  body: Part<R, 'body'>;
  principal: R['access'] extends 'public' ? null : Principal;
  req: Request;
  res: Response;
  ip: string;
}

export interface Reply {
  status?: number;
  body: unknown;
  /** A file instead of JSON (the monthly report's CSV and PDF): sent as an attachment named `filename`. */
  raw?: { contentType: string; data: Buffer | string; filename: string };
  /** Extra facts for the audit log (never a secret). */
  audit?: { target?: string; details?: Record<string, unknown>; userId?: string; email?: string };
}

export type Handlers = { [K in RouteId]: (ctx: Ctx<(typeof ROUTES)[K]>) => Promise<Reply> | Reply };
