// The HTTP security of a runtime: its TLS certificate (--tls-cert / --tls-key, checked at start),
// the HTTP or HTTPS server it listens with, and the security headers every answer carries (helmet).
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { FIELDS, SettingsError } from '../../settings';

/** The PEM contents of the certificate (with its chain) and key a runtime serves TLS with. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

function readPem(path: string, flag: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SettingsError(flag, `cannot read the ${what} '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The certificate and key of --tls-cert / --tls-key, or undefined when neither is set. Both or
 * neither; each readable PEM; the key must belong to the certificate. Checked here, at start, so a
 * bad file is a settings error (exit 2) and not a failed handshake of the first client.
 */
export function loadTls(settings: { tlsCert?: string | undefined; tlsKey?: string | undefined }): TlsFiles | undefined {
  const { tlsCert, tlsKey } = settings;
  if (tlsCert === undefined && tlsKey === undefined) return undefined;
  if (tlsCert === undefined) throw new SettingsError(FIELDS.tlsKey.flag, `needs ${FIELDS.tlsCert.flag} as well`);
  if (tlsKey === undefined) throw new SettingsError(FIELDS.tlsCert.flag, `needs ${FIELDS.tlsKey.flag} as well`);
  const files = { cert: readPem(tlsCert, FIELDS.tlsCert.flag, 'certificate'), key: readPem(tlsKey, FIELDS.tlsKey.flag, 'private key') };
  try {
    // Parses both and checks that the key is the certificate's (OpenSSL: "key values mismatch").
    createSecureContext(files);
  } catch (err) {
    throw new SettingsError(FIELDS.tlsCert.flag, `'${tlsCert}' with key '${tlsKey}' is not a usable TLS pair: ${(err as Error).message}`);
  }
  return files;
}

/** An HTTPS server when TLS is configured, else plain HTTP; the WebSockets it carries follow. */
export function createWebServer(app: RequestListener, tls: TlsFiles | undefined): Server {
  return tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, app) : createHttpServer(app);
}

/** 'https' or 'http': the scheme of the runtime's own URLs (banner, OTA public URL). */
export const webScheme = (tls: TlsFiles | undefined): 'https' | 'http' => (tls ? 'https' : 'http');

// One CSP per kind of page, each as strict as that page allows. Common to both: nothing may frame
// the page (the e-stop and reset buttons cannot be clickjacked), no plugins, no <base> elsewhere,
// forms post only to this origin, and every fetch/WebSocket goes to this origin ('self' covers
// ws:/wss: to the same host and port in CSP 3).
const COMMON_DIRECTIVES = {
  defaultSrc: ["'self'"],
  frameAncestors: ["'none'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'", 'data:'],
  workerSrc: ["'self'", 'blob:'],
  manifestSrc: ["'self'"],
};

/**
 * The dashboard (a Vite build: module scripts from /assets only, no inline script, no eval), the
 * API and the flows' endpoints. Styles allow 'unsafe-inline' because Vue, ECharts and Leaflet set
 * style attributes and Leaflet positions its tiles with them. Images also from any http(s) origin:
 * the fleet map loads tiles from the tile server a user configures on the fleet page.
 */
const DASHBOARD_DIRECTIVES = {
  ...COMMON_DIRECTIVES,
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:', 'blob:', 'https:', 'http:'],
};

/**
 * Node-RED's editor needs more: each node type's HTML carries inline <script> blocks that the
 * editor inserts with jQuery (as script elements, so 'unsafe-inline'; nothing in Node-RED 4.1's
 * editor, its Monaco build or our nodes calls eval or new Function, so no 'unsafe-eval'); Monaco
 * starts its workers from blob: URLs and inserts inline styles. Still same-origin only and never
 * framed. A palette node that needs eval in the editor would show a CSP error in the console.
 */
const EDITOR_DIRECTIVES = {
  ...COMMON_DIRECTIVES,
  scriptSrc: ["'self'", "'unsafe-inline'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:', 'blob:'],
};

function headers(directives: Record<string, string[]>, tls: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      // Over plain HTTP (loopback, or TLS ended by a reverse proxy) upgrading would break every
      // asset; behind a TLS-terminating proxy, the proxy adds its own HSTS (README, "TLS").
      directives: tls ? { ...directives, upgradeInsecureRequests: [] } : directives,
    },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // HSTS is only meaningful, and only honoured by browsers, on an HTTPS answer.
    strictTransportSecurity: tls ? { maxAge: 180 * 24 * 3600, includeSubDomains: false } : false,
    // The dashboard loads map tiles from other origins; nothing of ours is embedded cross-origin.
    crossOriginEmbedderPolicy: false,
  }) as RequestHandler;
}

/**
 * The headers of every answer: the editor's CSP under `editorRoot`, the dashboard's everywhere
 * else (the API's JSON and the flows' endpoints get the stricter one; it costs them nothing).
 */
export function securityHeaders(opts: { tls: boolean; editorRoot: string }): RequestHandler {
  const editor = headers(EDITOR_DIRECTIVES, opts.tls);
  const rest = headers(DASHBOARD_DIRECTIVES, opts.tls);
  const under = (path: string) => path === opts.editorRoot || path.startsWith(`${opts.editorRoot}/`);
  return (req, res, next) => (under(req.path) ? editor : rest)(req, res, next);
}
