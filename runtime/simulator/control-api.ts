// The simulator's control API on 127.0.0.1 (node:http; a few routes do not need a framework):
//   GET    /health         {ok, simTime}
//   GET    /state          the full physical state (SiteState) as JSON
//   POST   /faults         inject a fault, body {type, cell?, value?} -> 201 {fault, faults}
//   DELETE /faults[?type=] clear all faults or one type -> 200 {cleared, faults}
//   POST   /age           body {cycles}: the pack continues as one that has done that many
//                         equivalent full cycles (capacity and resistance from the ageing data)
//                         -> 200 {cycles, capacitySoh}
//   GET    /history/load[?days=15]  the site's net load (load - PV) over the past days on the wall
//                         clock, 15-minute means of the replayed real profile, as a load-forecast
//                         history seed {start, stepMinutes, loadKw, simStart, source} (control-history.ts)
// Bad JSON or a bad body gets 400 with a message naming the problem; nothing here can crash the loop.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { describeIssues } from '../../domain/contracts';
import { FAULT_TYPES, FaultRequestSchema } from './faults';
import type { Site } from './site';
import { LoadHistoryQuerySchema, replayedNetLoad } from './control-history';

const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, `body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** `input` as `schema` reads it, or 400 naming the problem ("bad <what>: ..."). */
function checked<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new HttpError(400, `bad ${what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** The request's JSON body as `schema` reads it; 400 for a body that is not JSON or does not fit. */
async function readJson<S extends z.ZodType>(req: http.IncomingMessage, schema: S, what: string): Promise<z.output<S>> {
  const text = await readBody(req);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
  return checked(schema, json, what);
}

const FaultTypeQuery = z.enum(FAULT_TYPES);

/** POST /age body: make the pack as old as `cycles` equivalent full cycles. */
const AgeRequestSchema = z.object({ cycles: z.number().finite().nonnegative().max(5000) }).strict();

export class ControlApi {
  private readonly server: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(
    private readonly site: Site,
    private readonly host = '127.0.0.1',
    private readonly port = 5021,
    /** Simulated ms per wall-clock ms (the clock's speed): maps the past wall clock onto the replayed data. */
    private readonly speed = 1,
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (err instanceof HttpError) send(res, err.status, { error: err.message });
        else send(res, 500, { error: (err as Error).message ?? String(err) });
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method ?? 'GET'} ${url.pathname.replace(/\/+$/, '') || '/'}`;
    switch (route) {
      case 'GET /health':
        return send(res, 200, { ok: true, simTime: new Date(this.site.simTimeMs).toISOString() });
      case 'GET /state':
        return send(res, 200, this.site.state());
      case 'GET /faults':
        return send(res, 200, { faults: this.site.activeFaults() });
      case 'GET /history/load': {
        const q = checked(LoadHistoryQuerySchema, Object.fromEntries(url.searchParams), 'query');
        const source = this.site.config.kind === 'household' ? 'household profile 2014 (data/household_profile.csv), load - pv' : 'Berlin demand 2012 scaled, minus German PV per unit (data/)';
        return send(res, 200, replayedNetLoad(this.site.profile, this.site.simTimeMs, Date.now(), this.speed, q.days, source));
      }
      case 'POST /faults': {
        const request = await readJson(req, FaultRequestSchema, 'fault');
        try {
          const fault = this.site.injectFault(request);
          return send(res, 201, { fault, faults: this.site.activeFaults() });
        } catch (err) {
          if (err instanceof RangeError) throw new HttpError(400, err.message);
          throw err;
        }
      }
      case 'POST /age': {
        const { cycles } = await readJson(req, AgeRequestSchema, 'age');
        this.site.pack.setAge(cycles);
        this.site.pack.step(0, this.site.pack.current);
        return send(res, 200, { cycles: this.site.pack.cycles, capacitySoh: this.site.pack.capacitySohPct });
      }
      case 'DELETE /faults': {
        const type = url.searchParams.get('type');
        let which: z.infer<typeof FaultTypeQuery> | undefined;
        if (type !== null) {
          const parsed = FaultTypeQuery.safeParse(type);
          if (!parsed.success) throw new HttpError(400, `unknown fault type "${type}": one of ${FAULT_TYPES.join(', ')}`);
          which = parsed.data;
        }
        const cleared = this.site.clearFaults(which);
        return send(res, 200, { cleared, faults: this.site.activeFaults() });
      }
      default:
        if (['/health', '/state', '/faults', '/age', '/history/load'].includes(url.pathname)) throw new HttpError(405, `${req.method ?? ''} not allowed on ${url.pathname}`);
        throw new HttpError(404, `no route ${route}`);
    }
  }
}
