// The edge's small REST API under /api/v1: GET /api/v1/health (the cloud mounts runtime/api).
// Unknown paths answer a JSON 404 so API clients never receive the editor's HTML by mistake.
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';

export interface HealthInfo {
  role: 'cloud' | 'edge';
  version: string;
  nodeRed: string;
  startedAt: number;
  /** Extra facts of the role, e.g. the edge's siteId. */
  extra?: Record<string, string | number>;
  /** Why the runtime cannot serve its part now (the cloud's broker thread restarting): health answers 503. */
  failing?: () => string | undefined;
}

export function healthBody(info: HealthInfo, now = Date.now()) {
  const failing = info.failing?.();
  return {
    status: failing === undefined ? ('ok' as const) : ('failing' as const),
    ...(failing === undefined ? {} : { failing }),
    role: info.role,
    version: info.version,
    uptimeS: Math.round((now - info.startedAt) / 100) / 10,
    nodeRed: info.nodeRed,
    ...info.extra,
  };
}

export function apiRouter(info: HealthInfo): Router {
  const router = express.Router();
  router.get('/health', (_req, res) => {
    const body = healthBody(info);
    res.status(body.status === 'ok' ? 200 : 503).json(body);
  });
  // The same error shape as the cloud API (runtime/api/errors.ts): {error, message}.
  router.use((req, res) => {
    res.status(404).json({ error: 'not_found', message: `no route ${req.method} ${req.baseUrl}${req.path}` });
  });
  // Express recognises an error handler by its four parameters.
  router.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status !== undefined && err.status >= 400 && err.status < 600 ? err.status : 500;
    res.status(status).json(status === 500 ? { error: 'internal', message: 'internal error' } : { error: 'bad_request', message: err.message });
  });
  return router;
}
