// The edge's accounts at work (README, "Securing the edge"): the cloud's UserStore, TokenService,
// auth handlers and editor adminAuth over <dataDir>/edge/accounts.db. They give
// - the edge editor's Node-RED adminAuth (the same rules as the cloud's editor);
// - /api/v1/auth/* on the edge (login with password and TOTP, refresh, logout, me, password
//   change, 2FA enrolment): the cloud's handlers and route specs, mounted over the edge's users;
// - the guard of the flows' HTTP endpoints under /nodes (node-guard.ts), which takes bearer tokens.
import { createHmac } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit, type RateLimitRequestHandler } from 'express-rate-limit';
import { authHandlers, type AuthRoutes, type AuthServices } from '../api/auth-handlers';
import { AuditLog } from '../api/audit';
import { editorAdminAuth, editorSignInHandler, type EditorAdminAuth, type EditorUser } from '../api/editor-auth';
import { LoginThrottle } from '../api/login-throttle';
import { DEFAULT_RATE_LIMITS, editorLoginLimiter } from '../api/router';
import { rank } from '../../domain/permissions';
import type { Role } from '../../domain/contracts';
import { ApiError, errorHandler, unauthorized, validationError } from '../api/errors';
import { createFirstAdmin } from '../api/first-user';
import { BCRYPT_COST, decoyHash } from '../api/passwords';
import { ROUTES, type RouteSpec } from '../api/routes';
import type { Reply } from '../api/services';
import { TokenService, type Principal } from '../api/tokens';
import { SecretBox } from '../api/totp';
import { UserStore } from '../api/users';
import type { Secrets } from '../secrets';
import { openEdgeAccountsDb } from './accounts-db';
import { nodeGuard } from './node-guard';

/** The auth routes the edge serves, as the cloud specifies them (runtime/api/routes.ts). */
const EDGE_AUTH_ROUTES = ['login', 'refresh', 'logout', 'me', 'changePassword', 'enrollTwoFactor', 'verifyTwoFactor'] as const satisfies readonly AuthRoutes[];

export interface EdgeAccounts {
  users: UserStore;
  tokens: TokenService;
  /** Node-RED settings.adminAuth of the edge editor. */
  editorAdminAuth: EditorAdminAuth;
  /** Mount at /editor/auth before Node-RED's editor: its sign-in and sign-out (editor-auth.ts). */
  editorSignIn: Router;
  /** Mount at /api/v1: the auth routes; anything else falls through. */
  router: Router;
  /** Mount at /nodes before Node-RED's httpNode. */
  nodeGuard: RequestHandler;
  close(): Promise<void>;
}

export interface EdgeAccountsOptions {
  dataDir: string;
  secrets: Secrets;
  /** Where the first start's generated password is printed (default stdout). */
  print?: (line: string) => void;
  log?: (line: string) => void;
  /** bcrypt cost of new hashes; lower only in tests. */
  bcryptCost?: number;
  /** Failed logins per client address and email in 15 minutes (default 5, as the cloud's). */
  loginPer15Min?: number;
}

/**
 * The edge signs its tokens with a key of its own, derived from the installation's jwtSecret: in
 * `lifo4 start` edge and cloud share secrets.json, and a cloud token must never verify at the edge.
 */
export function edgeJwtSecret(secrets: Secrets): string {
  return createHmac('sha256', secrets.jwtSecret).update('lifo4 edge accounts').digest('base64url');
}

/**
 * Who may use the edge's editor. Unlike the cloud's, which is fleet-wide and so the SUPER_ADMIN's
 * alone, the edge's editor holds one site: its ADMIN and above deploy (with 2FA, as everywhere),
 * a TECHNICIAN looks at the flows and debug output to diagnose, nobody else gets in.
 */
export function edgeEditorPermissions(role: Role): EditorUser['permissions'] | null {
  if (rank(role) <= rank('ADMIN')) return '*';
  return rank(role) <= rank('TECHNICIAN') ? 'read' : null;
}

export async function openEdgeAccounts(opts: EdgeAccountsOptions): Promise<EdgeAccounts> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const cost = opts.bcryptCost ?? BCRYPT_COST;
  const db = await openEdgeAccountsDb(opts.dataDir);
  const users = new UserStore(db, cost);
  const tokens = new TokenService(db, users, edgeJwtSecret(opts.secrets));
  const audit = new AuditLog(db);
  const box = new SecretBox(opts.secrets.totpKey);
  // The edge has no realtime channel to tell of a changed session: its API and editor check every request.
  const services: AuthServices = { users, tokens, audit, box, decoyHash: await decoyHash(cost), throttle: new LoginThrottle(), visibilityChanged: () => undefined };
  await createFirstAdmin(users, 'edge', opts.print ?? ((line) => console.log(line)));
  const built = authRouter(services, opts.loginPer15Min ?? 5, log);
  const editorAuth = editorAdminAuth({ users, tokens, box, audit, throttle: services.throttle, decoyHash: services.decoyHash, permissionsOf: edgeEditorPermissions });
  const editorLimit = editorLoginLimiter(DEFAULT_RATE_LIMITS);
  return {
    users,
    tokens,
    editorAdminAuth: editorAuth,
    editorSignIn: editorSignInHandler(editorAuth, tokens, editorLimit.mw),
    router: built.router,
    nodeGuard: nodeGuard(tokens),
    async close() {
      built.close();
      editorLimit.close();
      await db.close();
    },
  };
}

function limiter(limit: number, keyGenerator: (req: Request, res: Response) => string): { mw: RateLimitRequestHandler; store: MemoryStore } {
  const store = new MemoryStore();
  const mw = rateLimit({
    windowMs: 15 * 60_000, limit, store, standardHeaders: 'draft-7', legacyHeaders: false, keyGenerator,
    // Only failures count, as on the cloud: a right password is never locked out by the limit.
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode < 400 || res.locals.notAFailure === true,
    handler: (_req, _res, next) => next(new ApiError(429, 'rate_limited', 'too many failed attempts: try again later', undefined, { 'Retry-After': '900' })),
  });
  return { mw, store };
}

function run(mw: RateLimitRequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => void mw(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
}

/** The cloud's auth routes over the edge's services: authentication, body schema, limits, handler. */
function authRouter(s: AuthServices, loginLimit: number, log: (line: string) => void): { router: Router; close(): void } {
  const handlers = authHandlers(s);
  const clientIp = (req: Request) => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown');
  const login = limiter(loginLimit, (req) => `${clientIp(req)}|${String((req.body as { email?: unknown } | undefined)?.email ?? '').toLowerCase().slice(0, 254)}`);
  const twoFactor = limiter(loginLimit, (_req, res) => (res.locals.principal as Principal | undefined)?.userId ?? 'anonymous');
  const router = express.Router();
  const json = express.json({ limit: '16kb', strict: true });
  const authenticate = (req: Request, res: Response, strategies: string[]): Promise<Principal | null> =>
    new Promise((resolve, reject) => {
      s.tokens.passport.authenticate(strategies, { session: false }, (err: unknown, user: Principal | false | undefined) => (err ? reject(err) : resolve(user || null)))(req, res, () => resolve(null));
    });
  for (const id of EDGE_AUTH_ROUTES) {
    const spec: RouteSpec = ROUTES[id];
    const handler = handlers[id] as (ctx: unknown) => Promise<Reply> | Reply;
    router[spec.method](spec.path, json, (req, res, next) => {
      (async () => {
        let principal: Principal | null = null;
        if (spec.access !== 'public') {
          principal = await authenticate(req, res, spec.access === 'enrolment' ? ['access', 'enroll'] : ['access']);
          if (!principal) throw unauthorized();
          res.locals.principal = principal;
        }
        let body: unknown;
        if (spec.body) {
          const parsed = spec.body.safeParse(req.body ?? {});
          if (!parsed.success) throw validationError('body', parsed.error);
          body = parsed.data;
        }
        if (spec.limits?.includes('login')) await run(login.mw, req, res);
        if (spec.limits?.includes('twoFactor')) await run(twoFactor.mw, req, res);
        const reply = await handler({ params: {}, query: {}, body, principal, req, res, ip: req.ip ?? '' });
        res.status(reply.status ?? spec.status).json(reply.body);
      })().catch(next);
    });
  }
  router.use('/auth', errorHandler(log));
  return {
    router,
    close() {
      login.store.shutdown();
      twoFactor.store.shutdown();
    },
  };
}
