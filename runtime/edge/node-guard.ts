// The guard of the edge flows' HTTP endpoints (Node-RED's httpNode, under /nodes), mounted before
// them (README, "Securing the edge"). Every request needs `Authorization: Bearer <token>` of a
// signed-in edge user: reads need telemetry:read, anything else commands:send and a JSON body,
// so a cross-site HTML form (urlencoded, multipart or text/plain, which a browser posts without
// asking) is refused with 415 before a flow sees it. The user and role of the token are put on the
// request under HTTP_PRINCIPAL_KEY, where operator-command takes them instead of the body's.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HTTP_PRINCIPAL_KEY, type HttpPrincipal } from '../../domain/contracts';
import { hasPermission, type Permission } from '../../domain/permissions';
import type { TokenService } from '../api/tokens';

function refuse(res: Response, status: number, error: string, message: string): void {
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="lifo4-edge"');
  res.status(status).json({ error, message });
}

function bearer(req: Request): string | null {
  const h = req.headers.authorization;
  return typeof h === 'string' && /^Bearer \S+$/.test(h) ? h.slice(7) : null;
}

export function nodeGuard(tokens: Pick<TokenService, 'verifyAccess'>): RequestHandler {
  return (req, res, next) => void guard(req, res, next).catch(next);
  async function guard(req: Request, res: Response, next: NextFunction): Promise<void> {
    const reading = req.method === 'GET' || req.method === 'HEAD';
    const token = bearer(req);
    const principal = token ? await tokens.verifyAccess(token) : null;
    if (!principal) {
      return refuse(res, 401, 'unauthorized', "the edge's endpoints need an access token of an edge user: POST /api/v1/auth/login, then Authorization: Bearer <accessToken>");
    }
    const need: Permission = reading ? 'telemetry:read' : 'commands:send';
    if (!hasPermission(principal.role, need)) return refuse(res, 403, 'forbidden', `${req.method} ${req.originalUrl} needs ${need}, which a ${principal.role} does not hold`);
    if (!reading && !req.is('application/json')) {
      return refuse(res, 415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
    }
    const who: HttpPrincipal = { by: principal.email, role: principal.role };
    Object.defineProperty(req, HTTP_PRINCIPAL_KEY, { value: who, enumerable: false, writable: false });
    next();
  }
}
