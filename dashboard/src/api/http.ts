// The one HTTP path to the API (/api/v1 on the same origin): JSON in and out, the access token on
// every request, one refresh-and-retry when it has run out, and API errors ({error, message,
// details?}) turned into ApiRequestError so every view can show the server's own message.

export const API_ROOT = '/api/v1';

export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    readonly status: number,
    /** The API's machine code (e.g. 'totp_required'), or 'network' when no answer came. */
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | boolean | undefined | null | readonly string[]>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  /** Send the access token (default true). */
  auth?: boolean;
  /** A bearer token other than the session's (the 2FA enrolment token). */
  token?: string;
  signal?: AbortSignal;
  /** Answer as text (CSV export) instead of JSON. */
  text?: boolean;
  /** Answer as a file (the monthly report's CSV and PDF). */
  blob?: boolean;
}

/** Where the client gets and renews its access token: the auth store implements it. */
export interface TokenSource {
  accessToken(): string | null;
  /** Renews the access token with the refresh token; false when the session is over. */
  refresh(): Promise<boolean>;
  /** Called when a request is refused for want of a session, after a failed refresh. */
  expired(): void;
}

let tokens: TokenSource | null = null;

export function useTokenSource(source: TokenSource | null): void {
  tokens = source;
}

export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const item of v) params.append(k, String(item));
    else params.set(k, String(v));
  }
  const qs = params.toString();
  return `${API_ROOT}${path}${qs ? `?${qs}` : ''}`;
}

async function errorOf(res: Response): Promise<ApiRequestError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let details: unknown;
  try {
    const body = (await res.json()) as { error?: unknown; message?: unknown; details?: unknown };
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.message === 'string') message = body.message;
    else if (typeof body.error === 'string') message = body.error;
    details = body.details;
  } catch {
    // not JSON: keep the status text
  }
  const retry = Number(res.headers.get('retry-after'));
  return new ApiRequestError(res.status, code, message, details, Number.isFinite(retry) && retry > 0 ? retry : undefined);
}

async function send(method: string, path: string, opts: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { accept: opts.blob ? '*/*' : opts.text ? 'text/csv, text/plain, */*' : 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    return await fetch(buildUrl(path, opts.query), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      credentials: 'same-origin',
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiRequestError(0, 'network', 'the server cannot be reached; check the connection');
  }
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const useSession = opts.auth !== false && !opts.token;
  let res = await send(method, path, opts, opts.token ?? (useSession ? (tokens?.accessToken() ?? null) : null));
  if (!res.ok) {
    let err = await errorOf(res);
    // Only a refused token is worth a refresh; a wrong TOTP code or password is the person's answer.
    if (err.status === 401 && useSession && tokens && isTokenProblem(err.code)) {
      if (await tokens.refresh()) {
        res = await send(method, path, opts, tokens.accessToken());
        if (!res.ok) err = await errorOf(res);
      }
      if (!res.ok && err.status === 401 && isTokenProblem(err.code)) tokens.expired();
    }
    if (!res.ok) throw err;
  }
  if (res.status === 204) return undefined as T;
  if (opts.blob) return (await res.blob()) as T;
  if (opts.text) return (await res.text()) as T;
  return (await res.json()) as T;
}

/** The API's codes for a missing, expired or voided access token (runtime/api/errors.ts `unauthorized`). */
export function isTokenProblem(code: string): boolean {
  return code === 'unauthorized' || code === 'http_401' || code === 'token_expired' || code === 'invalid_token';
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiRequestError) {
    if (err.status === 429) return `${err.message} (too many requests${err.retryAfterS ? `; try again in ${err.retryAfterS} s` : ''})`;
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
