// The DNS-rebinding guard of the editors and APIs: a page on evil.example that re-resolves its
// name to 127.0.0.1 reaches a loopback-only server from the victim's browser, but its requests
// still carry `Host: evil.example`. Only names this server is known by pass: loopback names, the
// bound name, --allowed-hosts, and IP literals (a browser sends an IP as Host only when the URL
// holds that IP, which no rebinding can arrange). Anything else gets 421 Misdirected Request.
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

export function hostCheck(opts: { bound: string; allowedHosts: readonly string[] }): RequestHandler {
  const allowed = new Set([opts.bound.toLowerCase(), ...opts.allowedHosts.map((h) => h.toLowerCase())]);
  return (req, res, next) => {
    const name = hostOfHeader(req.headers.host);
    // HTTP/1.0 clients may send no Host at all; a browser always sends one.
    if (name === '' || allowedHost(name, allowed)) return next();
    res.status(421).json({
      error: 'misdirected_request',
      message: `this server does not answer to the host name '${name}'; add it with --allowed-hosts if it is a name of this server`,
    });
  };
}
