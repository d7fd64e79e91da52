// GET /metrics on the edge (README, "Edge metrics"). Never open: a request needs
// `Authorization: Bearer <token>` with either the installation's scrape token (secrets.json
// `edgeMetricsToken`, generated on the first start; Prometheus reads it from a credentials_file)
// or the access token of an edge user whose role holds metrics:read. A scraper cannot sign in
// with a password and a second factor every quarter of an hour, hence the long-lived token; the
// edge's own accounts serve a person with curl.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { hasPermission } from '../../domain/permissions';
import type { TokenService } from '../api/tokens';
import type { EdgePromMetrics } from './edge-metrics';

export interface EdgeMetricsRouteOptions {
  metrics: Pick<EdgePromMetrics, 'registry'>;
  scrapeToken: string;
  /** The edge's accounts' tokens; absent when the edge runs without accounts (--edge-auth off). */
  tokens?: Pick<TokenService, 'verifyAccess'>;
  log?: (line: string) => void;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function refuse(res: Response, status: 401 | 403, message: string): void {
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="lifo4-edge-metrics"');
  res.status(status).json({ error: status === 401 ? 'unauthorized' : 'forbidden', message });
}

function bearer(req: Request): string | null {
  const h = req.headers.authorization;
  return typeof h === 'string' && /^Bearer \S+$/.test(h) ? h.slice(7) : null;
}

export function edgeMetricsHandler(opts: EdgeMetricsRouteOptions): RequestHandler {
  const expected = digest(opts.scrapeToken);
  const log = opts.log ?? ((line: string) => console.error(line));
  return (req, res) => void serve(req, res).catch((err: unknown) => {
    log(`edge: /metrics: ${String(err)}`);
    if (!res.headersSent) res.status(500).json({ error: 'internal', message: 'metrics collection failed' });
  });
  async function serve(req: Request, res: Response): Promise<void> {
    const token = bearer(req);
    if (!token) return refuse(res, 401, "/metrics needs Authorization: Bearer <token>: the scrape token (secrets.json edgeMetricsToken) or an edge user's access token with metrics:read");
    // Compared as digests, in constant time: the token's length says nothing either.
    if (!timingSafeEqual(digest(token), expected)) {
      const p = (await opts.tokens?.verifyAccess(token)) ?? null;
      if (!p) return refuse(res, 401, '/metrics: the token is neither the scrape token nor a valid edge access token');
      if (!hasPermission(p.role, 'metrics:read')) return refuse(res, 403, `/metrics needs metrics:read, which a ${p.role} does not hold`);
    }
    const text = await opts.metrics.registry.metrics();
    res.setHeader('Content-Type', opts.metrics.registry.contentType);
    res.end(text);
  }
}
