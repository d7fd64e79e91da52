// Every API error is JSON {error, message, details?} with a stable machine `error` code and a
// message a person can act on; a stack trace never leaves the process (it goes to the log).
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'bad_request', message, details);
export const unauthorized = (message = 'a valid access token is required', code = 'unauthorized') => new ApiError(401, code, message);
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const conflict = (message: string, details?: unknown) => new ApiError(409, 'conflict', message, details);
export const unavailable = (message: string) => new ApiError(503, 'unavailable', message);

/** zod issues as the `details` of a 400: where and what, without echoing the input back. */
export function validationError(where: 'body' | 'query' | 'params', error: z.ZodError): ApiError {
  const issues = error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  const first = issues[0];
  return new ApiError(400, 'invalid_request', first ? `${first.path}: ${first.message}` : `invalid ${where}`, { issues });
}

export function sendError(res: Response, err: ApiError): void {
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(err.headers ?? {})) res.setHeader(k, v);
  const body: ErrorBody = { error: err.code, message: err.message };
  if (err.details !== undefined) body.details = err.details;
  res.status(err.status).json(body);
}

/** body-parser's errors carry `status` and `type` (entity.parse.failed, entity.too.large, ...). */
function fromParserError(err: unknown): ApiError | null {
  const e = err as { status?: unknown; type?: unknown; message?: unknown };
  if (typeof e?.status !== 'number' || typeof e.type !== 'string' || e.status < 400 || e.status >= 500) return null;
  if (e.type === 'entity.parse.failed') return new ApiError(400, 'invalid_json', 'the request body is not valid JSON');
  if (e.type === 'entity.too.large') return new ApiError(413, 'too_large', 'the request body is too large');
  return new ApiError(e.status, e.type.replace(/\./g, '_'), typeof e.message === 'string' ? e.message : 'bad request');
}

/** The router's last handler: four parameters, which is how Express recognises an error handler. */
export function errorHandler(log: (line: string) => void) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof ApiError) return sendError(res, err);
    const parsed = fromParserError(err);
    if (parsed) return sendError(res, parsed);
    log(`api: ${req.method} ${req.originalUrl}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    sendError(res, new ApiError(500, 'internal', 'internal error; the server log has the details'));
  };
}
