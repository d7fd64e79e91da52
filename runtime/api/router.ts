// Builds the Express router of /api/v1 from the route table: for every route, in this order,
// authentication (passport-jwt) -> permission (permissions.ts) -> zod validation of params, query
// and body -> what :id names must be visible to the caller (404 otherwise, so other
// organisations' ids are not even confirmed) -> rate limits -> handler -> audit. A request refused
// by validation writes nothing, not even an audit row: it never was a request for a change.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit, type Options, type RateLimitRequestHandler, type Store } from 'express-rate-limit';
import type { RateStoreFactory } from '../cloud-db/rate-limit-store';
import { z } from 'zod';
import { sql } from 'kysely';
import { PoolBusyError } from './bcrypt-pool';
import { ApiError, errorHandler, forbidden, notFound, sendError, unauthorized, validationError } from './errors';
import { hasPermission } from '../../domain/permissions';
import { ROUTE_IDS, ROUTES, type LimitName, type RouteSpec } from './routes';
import type { Handlers, Reply, Services } from './services';
import type { Principal } from './tokens';

/** Requests per window (README, "The cloud API"). */
export interface RateLimits {
  /** Per client address, every route: 300/min. */
  globalPerMin: number;
  /**
   * Failed logins per client address (any account), 15 min window: 30. The per-account brake
   * (login-throttle.ts) is the main guard and ignores the address; this one slows one address
   * spraying many accounts.
   */
  loginPer15Min: number;
  /** Failed editor sign-ins (POST /editor/auth/token) per client address, 15 min window: 20. */
  editorLoginPer15Min: number;
  /** Failed 2FA confirmations and password changes per user, 15 min window: 5. */
  twoFactorPer15Min: number;
  /** Commands per user: 60/min. */
  commandsPerMin: number;
  /** Emergency stops per user: 10/min. */
  estopPerMin: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { globalPerMin: 300, loginPer15Min: 30, editorLoginPer15Min: 20, twoFactorPer15Min: 5, commandsPerMin: 60, estopPerMin: 10 };

const NO_QUERY = z.strictObject({});

function tooMany(what: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
    const retryAfterS = Math.max(1, Math.ceil(((reset?.getTime() ?? Date.now() + 60_000) - Date.now()) / 1000));
    next(new ApiError(429, 'rate_limited', `too many ${what}: try again in ${retryAfterS} s`, { retryAfterS }, { 'Retry-After': String(retryAfterS) }));
  };
}

// req.ip: the socket's peer, or with the `trust proxy` setting the client named by X-Forwarded-For.
const clientIp = (req: Request) => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown');
const principalKey = (_req: Request, res: Response) => (res.locals.principal as Principal | undefined)?.userId ?? 'anonymous';

// The counts live in this process (MemoryStore) or, with several cloud processes, in their shared
// PostgreSQL (`stores`, runtime/cloud-db/rate-limit-store.ts).
function limiter(windowMs: number, limit: number, what: string, more: Partial<Options>, store: Store = new MemoryStore()): { mw: RateLimitRequestHandler; store: Store } {
  const mw = rateLimit({ windowMs, limit, store, standardHeaders: 'draft-7', legacyHeaders: false, handler: tooMany(what), ...more });
  return { mw, store };
}

function run(mw: RateLimitRequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    void mw(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });
}

function parse<T extends z.ZodType>(schema: T, value: unknown, where: 'params' | 'query' | 'body'): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(where, r.error);
  return r.data;
}

/**
 * The per-address limit of failed editor sign-ins, for POST /editor/auth/token ahead of Node-RED,
 * which answers a success with 200 and a failure with 401 or 403.
 */
export function editorLoginLimiter(limits: Pick<RateLimits, 'editorLoginPer15Min'>, stores?: RateStoreFactory): { mw: RateLimitRequestHandler; close(): void } {
  const refuse = tooMany('failed editor sign-ins from this address');
  const l = limiter(15 * 60_000, limits.editorLoginPer15Min, '', {
    skipSuccessfulRequests: true,
    keyGenerator: clientIp,
    // In front of Node-RED there is no API error handler: answer here.
    handler: (req, res) => refuse(req, res, (err?: unknown) => sendError(res, err as ApiError)),
  }, stores?.('editor-login'));
  return { mw: l.mw, close: () => void l.store.shutdown?.() };
}

export interface BuiltRouter {
  router: Router;
  /** Stops the rate limiters' cleanup timers. */
  close(): void;
}

export function buildRouter(s: Services, handlers: Handlers, limits: RateLimits, log: (line: string) => void, stores?: RateStoreFactory): BuiltRouter {
  const router = express.Router();
  const global = limiter(60_000, limits.globalPerMin, 'requests', { keyGenerator: clientIp }, stores?.('global'));
  const named: Record<LimitName, { mw: RateLimitRequestHandler; store: Store }> = {
    login: limiter(15 * 60_000, limits.loginPer15Min, 'failed login attempts from this address', {
      // Only failures count: a user who logs in correctly is never locked out by the limit.
      skipSuccessfulRequests: true,
      requestWasSuccessful: (_req, res) => res.statusCode < 400 || res.locals.notAFailure === true,
      keyGenerator: clientIp,
    }, stores?.('login')),
    twoFactor: limiter(15 * 60_000, limits.twoFactorPer15Min, 'failed attempts', { skipSuccessfulRequests: true, keyGenerator: principalKey }, stores?.('two-factor')),
    command: limiter(60_000, limits.commandsPerMin, 'commands', { keyGenerator: principalKey }, stores?.('command')),
    estop: limiter(60_000, limits.estopPerMin, 'emergency stops', {
      keyGenerator: principalKey,
      skip: (req) => (req.body as { type?: unknown } | undefined)?.type !== 'estop',
    }, stores?.('estop')),
  };

  router.use((req, res, next) => {
    const end = s.metrics.requestDuration.startTimer();
    res.once('finish', () => end({ method: req.method, route: (res.locals.route as string | undefined) ?? 'unmatched', status: String(res.statusCode) }));
    next();
  });
  router.use(global.mw);
  router.use(express.json({ limit: '64kb', strict: true }));

  const authenticate = (req: Request, res: Response, strategies: string[]): Promise<Principal | null> =>
    new Promise((resolve, reject) => {
      s.tokens.passport.authenticate(strategies, { session: false }, (err: unknown, user: Principal | false | undefined) => (err ? reject(err) : resolve(user || null)))(req, res, () => resolve(null));
    });

  /** Whether the caller sees what :id names: 'missing' when it does not exist at all. */
  const visible = async (p: Principal, spec: RouteSpec, id: unknown): Promise<'yes' | 'hidden' | 'missing'> => {
    const seen = (ok: boolean) => (ok ? 'yes' : 'hidden');
    switch (spec.scope) {
      case undefined:
        return 'yes';
      case 'site':
        return (await s.sites.get(id as string)) ? seen(await s.sites.canSee(p, id as string)) : 'missing';
      case 'alarm': {
        const a = await s.alarms.get(id as number);
        return a ? seen(await s.sites.canSee(p, a.siteId)) : 'missing';
      }
      case 'user': {
        const u = await s.users.byId(id as string);
        return u ? seen(p.role === 'SUPER_ADMIN' || u.org_id === p.orgId) : 'missing';
      }
      case 'webhook': {
        const w = await s.webhooks.get(id as string, null);
        return w ? seen(p.role === 'SUPER_ADMIN' || w.orgId === p.orgId) : 'missing';
      }
      case 'deployment':
        // OTA roll-outs span organisations; only ota:deploy (SUPER_ADMIN) reaches these routes.
        return (await s.db.one(sql`SELECT 1 AS x FROM ota_deployments WHERE id = ${id as string}`)) ? 'yes' : 'missing';
    }
  };

  const logAuditError = (err: unknown) => log(`api: audit: ${err instanceof Error ? err.message : String(err)}`);

  for (const id of ROUTE_IDS) {
    const spec: RouteSpec = ROUTES[id];
    const handler = handlers[id] as (ctx: unknown) => Promise<Reply> | Reply;
    router[spec.method](spec.path, (req, res, next) => {
      res.locals.route = spec.path;
      let principal: Principal | null = null;
      let quiet = false;
      const audit = async (outcome: 'success' | 'failure' | 'denied', status: number, extra?: Reply['audit']): Promise<void> => {
        if (!spec.audit || !principal || quiet) return;
        await s.audit.write({
          userId: principal.userId, email: principal.email, role: principal.role, orgId: principal.orgId, ip: req.ip, action: id,
          target: extra?.target ?? (typeof req.params.id === 'string' ? req.params.id.slice(0, 128) : null), outcome, status, details: extra?.details,
        });
      };
      (async () => {
        if (spec.access !== 'public') {
          principal = await authenticate(req, res, spec.access === 'enrolment' ? ['access', 'enroll'] : ['access']);
          if (!principal) throw unauthorized();
          res.locals.principal = principal;
          if (spec.access !== 'authenticated' && spec.access !== 'enrolment' && !hasPermission(principal.role, spec.access)) {
            throw forbidden(`${id} needs ${spec.access}, which a ${principal.role} does not hold`);
          }
        }
        const params = spec.params ? parse(spec.params, req.params, 'params') : {};
        const query = parse(spec.query ?? NO_QUERY, req.query, 'query');
        const body = spec.body ? parse(spec.body, req.body ?? {}, 'body') : undefined;
        const sees = principal ? await visible(principal, spec, (params as { id?: unknown }).id) : 'yes';
        if (sees !== 'yes') {
          // Another organisation's id answers exactly like an unknown one; only the probe is audited.
          quiet = sees === 'missing';
          throw notFound(`${spec.scope} ${String((params as { id?: unknown }).id)}`);
        }
        for (const name of spec.limits ?? []) await run(named[name].mw, req, res);
        const reply = await handler({ params, query, body, principal, req, res, ip: req.ip ?? '' });
        const status = reply.status ?? spec.status;
        await audit('success', status, reply.audit);
        if (reply.raw) res.status(status).type(reply.raw.contentType).attachment(reply.raw.filename).send(reply.raw.data);
        else res.status(status).json(reply.body);
      })().catch(async (thrown: unknown) => {
        // A full bcrypt queue (a login flood) is the server's to say: 503, try again shortly.
        const err = thrown instanceof PoolBusyError ? new ApiError(503, 'busy', thrown.message, { retryAfterS: 1 }, { 'Retry-After': '1' }) : thrown;
        // Refused input (400), ids of nothing (404), rate-limited requests (429) and a busy bcrypt
        // queue write nothing: none was a change the server considered, and auditing them would
        // let anyone fill the log.
        if (err instanceof ApiError && err.status !== 429 && err.code !== 'busy' && err.code !== 'invalid_request') {
          await audit(err.status === 403 || err.status === 404 ? 'denied' : 'failure', err.status, { details: { error: err.code, message: err.message } }).catch(logAuditError);
        } else if (!(err instanceof ApiError)) await audit('failure', 500).catch(logAuditError);
        next(err);
      });
    });
  }

  router.use((req, res) => {
    res.status(404).json({ error: 'not_found', message: `no route ${req.method} ${req.baseUrl}${req.path}` });
  });
  router.use(errorHandler(log));
  return {
    router,
    close() {
      for (const l of [global, ...Object.values(named)]) void l.store.shutdown?.();
    },
  };
}
