// The DNS-rebinding guard of the editors and APIs: a page on evil.example that re-resolves its
// name to 127.0.0.1 reaches a loopback-only server from the victim's browser, but its requests
// still carry `Host: evil.example`. Only names this server is known by pass: loopback names, the
// bound name, --allowed-hosts, and IP literals (a browser sends an IP as Host only when the URL
// holds that IP, which no rebinding can arrange). Anything else gets 421 Misdirected Request.
import type { Server } from 'node:http';
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';

/** The host name of a Host header, lower case, without port or IPv6 brackets; '' when absent. */
export function hostOfHeader(header: string | undefined): string {
  if (!header) return '';
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  return h.replace(/:\d*$/, '').replace(/\.$/, '');
}

export function allowedHost(name: string, allowed: ReadonlySet<string>): boolean {
  return name === 'localhost' || name.endsWith('.localhost') || isIP(name) !== 0 || allowed.has(name);
}

export interface HostCheckOptions {
  bound: string;
  allowedHosts: readonly string[];
}

function checker(opts: HostCheckOptions): (header: string | undefined) => string | null {
  const allowed = new Set([opts.bound.toLowerCase(), ...opts.allowedHosts.map((h) => h.toLowerCase())]);
  return (header) => {
    const name = hostOfHeader(header);
    // HTTP/1.0 clients may send no Host at all; a browser always sends one.
    return name === '' || allowedHost(name, allowed) ? null : name;
  };
}

const refusal = (name: string) => `this server does not answer to the host name '${name}'; add it with --allowed-hosts if it is a name of this server`;

/** Express middleware for every HTTP request. */
export function hostCheck(opts: HostCheckOptions): RequestHandler {
  const refused = checker(opts);
  return (req, res, next) => {
    const name = refused(req.headers.host);
    if (name === null) return next();
    res.status(421).json({ error: 'misdirected_request', message: refusal(name) });
  };
}

/**
 * The same check for WebSocket upgrades (the editor's comms, the realtime channel), which bypass
 * Express. Runs before the servers' own upgrade listeners; ws leaves a socket closed here alone.
 */
export function guardUpgrades(server: Server, opts: HostCheckOptions): void {
  const refused = checker(opts);
  server.prependListener('upgrade', (req: { headers: { host?: string } }, socket: { end(data: string): void; destroy(): void }) => {
    const name = refused(req.headers.host);
    if (name === null) return;
    socket.end(`HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${refusal(name)}\n`);
    socket.destroy();
  });
}
