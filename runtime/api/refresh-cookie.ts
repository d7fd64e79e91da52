// The refresh token of a browser session, kept where page scripts cannot read it: an httpOnly,
// SameSite=Strict cookie (Secure when served over TLS) that the browser sends only to the two routes
// that use it, /auth/refresh and /auth/logout. API clients may still send the token in the JSON body
// instead, and then get it back in the body (README, "The cloud API").
import { parse } from 'cookie';
import type { CookieOptions, Request, Response } from 'express';
import { ApiError } from './errors';
import { REFRESH_TTL_MS } from './tokens';

export const REFRESH_COOKIE = 'lifo4_refresh';
/** Below /api/v1: the cookie is set once per route that reads it, each scoped to that route alone. */
export const REFRESH_COOKIE_PATHS = ['/api/v1/auth/refresh', '/api/v1/auth/logout'] as const;

function options(req: Request, path: string): CookieOptions {
  // req.secure: this server speaks TLS (or a trusted proxy says the client did).
  return { httpOnly: true, secure: req.secure, sameSite: 'strict', path };
}

export function setRefreshCookie(req: Request, res: Response, token: string): void {
  for (const path of REFRESH_COOKIE_PATHS) res.cookie(REFRESH_COOKIE, token, { ...options(req, path), maxAge: REFRESH_TTL_MS });
}

export function clearRefreshCookie(req: Request, res: Response): void {
  for (const path of REFRESH_COOKIE_PATHS) res.clearCookie(REFRESH_COOKIE, options(req, path));
}

export function refreshCookieOf(req: Request): string | undefined {
  const header = req.headers.cookie;
  return header ? parse(header)[REFRESH_COOKIE] : undefined;
}

/**
 * The routes the cookie reaches answer only JSON posts: with SameSite=Strict no other site's page
 * sends the cookie, and a cross-site HTML form (which cannot send application/json) is refused too.
 */
export function requireJson(req: Request): void {
  if (!req.is('application/json')) {
    throw new ApiError(415, 'unsupported_media_type', 'send the request as Content-Type: application/json');
  }
}
