// Fuzzing every route's body, query and path id with fast-check against the running server, as
// a SUPER_ADMIN (who passes every permission, so the input itself is what is tested). Input the
// route's own zod schema refuses must get a 4xx with a message and write nothing (every table's
// row count unchanged, no command sent); input it accepts may do its work but never gets a 5xx.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { z } from 'zod';
import { rowCounts } from '../../../runtime/cloud-db/cloud-db';
import { ROUTE_IDS, ROUTES, type RouteId, type RouteSpec } from '../../../runtime/api/routes';
import { buildFleet, type Fleet } from './fleet-fixture';
import { call, startHarness, type Harness } from './harness';
import { routeCases } from './route-requests';

const RUNS = 40;

/** The keys a schema knows (object schemas, also inside refinements), so the fuzzer can get near. */
function keysOf(schema: z.ZodType | undefined): string[] {
  const def = (schema as unknown as { def?: { shape?: Record<string, unknown>; in?: z.ZodType; schema?: z.ZodType } } | undefined)?.def;
  if (!def) return [];
  if (def.shape) return Object.keys(def.shape);
  return keysOf(def.in ?? def.schema);
}

const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,11}$/);

/** Arbitrary JSON, and objects made of the schema's keys (and strangers) holding arbitrary JSON. */
function bodies(keys: string[]): fc.Arbitrary<unknown> {
  const key = keys.length ? fc.oneof(fc.constantFrom(...keys), word) : word;
  return fc.oneof(fc.jsonValue(), fc.dictionary(key, fc.oneof(fc.jsonValue(), fc.string(), fc.integer(), fc.double())), fc.constant({}));
}

/** Query strings: the schema's keys (and strangers) with arbitrary text, or near-valid times. */
function queries(keys: string[]): fc.Arbitrary<Record<string, string>> {
  const key = keys.length ? fc.oneof(fc.constantFrom(...keys), word) : word;
  const value = fc.oneof(
    fc.string(),
    fc.constantFrom('', '0', '-1', '1e3', '15m', '0s', '99999999d', 'NaN', '2024-02-30T00:00:00Z', '2024-01-01T00:00:00Z', 'active', 'site-a'),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  );
  return fc.dictionary(key, value, { maxKeys: 5 });
}

describe('API fuzzing (fast-check): refused input is a 4xx with a message and writes nothing', function () {
  this.timeout(180_000);
  let h: Harness;
  let fleet: Fleet;
  let token: string;

  before(async () => {
    h = await startHarness();
    fleet = await buildFleet(h);
    token = fleet.sessions.SUPER_ADMIN.accessToken;
  });
  after(() => h?.close());

  const check = async (id: RouteId, path: string, query: Record<string, string> | undefined, body: unknown, valid: boolean) => {
    const spec: RouteSpec = ROUTES[id];
    const before = valid ? null : await rowCounts(h.api.db);
    const sent = h.sent.length;
    const r = await call(h, spec.method, path, { token, query, ...(spec.method === 'get' ? {} : { rawBody: JSON.stringify(body ?? null) }) });
    const what = `${spec.method.toUpperCase()} ${path} ${JSON.stringify(query)} ${JSON.stringify(body)} -> ${r.status} ${JSON.stringify(r.body)}`;
    assert.ok(r.status < 500, what);
    if (valid) return;
    assert.ok(r.status >= 400, what);
    assert.equal(typeof r.body.error, 'string', what);
    assert.ok(typeof r.body.message === 'string' && r.body.message.length > 0, what);
    assert.deepEqual(await rowCounts(h.api.db), before, `${what}: something was written`);
    assert.equal(h.sent.length, sent, `${what}: a command went out`);
  };

  for (const id of ROUTE_IDS.filter((i) => (ROUTES[i] as RouteSpec).body !== undefined)) {
    const spec: RouteSpec = ROUTES[id];
    it(`${spec.method.toUpperCase()} ${spec.path}: any body`, async () => {
      const path = routeCases(fleet)[id].request().path;
      await fc.assert(
        fc.asyncProperty(bodies(keysOf(spec.body)), async (body) => {
          await check(id, path, undefined, body, (spec.body as z.ZodType).safeParse(body).success);
        }),
        { numRuns: RUNS },
      );
    });
  }

  for (const id of ROUTE_IDS.filter((i) => ROUTES[i].method === 'get')) {
    const spec: RouteSpec = ROUTES[id];
    it(`${spec.method.toUpperCase()} ${spec.path}: any query`, async () => {
      const path = routeCases(fleet)[id].request().path;
      await fc.assert(
        fc.asyncProperty(queries(keysOf(spec.query)), async (query) => {
          const valid = spec.query ? spec.query.safeParse(query).success : Object.keys(query).length === 0;
          await check(id, path, query, undefined, valid);
        }),
        { numRuns: RUNS },
      );
    });
  }

  for (const id of ROUTE_IDS.filter((i) => (ROUTES[i] as RouteSpec).params !== undefined)) {
    const spec: RouteSpec = ROUTES[id];
    it(`${spec.method.toUpperCase()} ${spec.path}: any :id`, async () => {
      const c = routeCases(fleet)[id].request();
      await fc.assert(
        // A short positive number may be a real alarm of the fixture ("1"): the integers below cover numbers.
        fc.asyncProperty(fc.oneof(fc.string({ minLength: 1 }).filter((x) => !(Number.isInteger(Number(x)) && Number(x) > 0 && Number(x) < 1e9)), fc.integer({ max: 0 }).map(String), fc.integer({ min: 1_000_000_000 }).map(String), fc.uuid()), async (raw) => {
          const path = spec.path.replace(':id', encodeURIComponent(raw));
          // A well-formed id of nothing is a 404: refused as well, and nothing written.
          await check(id, path, c.query, c.body, false);
        }),
        { numRuns: RUNS },
      );
    });
  }
});
