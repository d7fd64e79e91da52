// @vitest-environment node
// The typed client against the API's OpenAPI document. Two links, so neither side can drift
// silently: (1) the saved copy src/api/openapi.json equals the document the API's code generates
// now (runtime/api/openapi.ts, from the same zod schemas the server validates with), checked on the
// server's side by test/runtime/api/openapi.test.ts; (2) here: every route of the client's
// CLIENT_ROUTES exists there with the same method, and every query and body field the client sends
// is one the route accepts, and every required one is sent.
// When (1) fails: the API changed; run `node dist/test/runtime/api/save-openapi.js` and fix what (2) reports.
import { describe, expect, it } from 'vitest';
import saved from '../../src/api/openapi.json';
import { CLIENT_ROUTES } from '../../src/api/endpoints';
import { ROLES } from '../../src/auth/permissions';

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
}
interface Parameter { name: string; in: 'path' | 'query'; required: boolean; schema: JsonSchema }
interface Operation { operationId: string; parameters: Parameter[]; requestBody?: { content: { 'application/json': { schema: JsonSchema } } } }
type Doc = { paths: Record<string, Record<string, Operation>> };

const doc = saved as unknown as Doc;

function op(method: string, path: string): Operation {
  const o = doc.paths[path]?.[method];
  if (!o) throw new Error(`the API has no ${method.toUpperCase()} ${path}`);
  return o;
}

describe('the dashboard API client against /api/v1/openapi.json', () => {
  for (const [name, route] of Object.entries(CLIENT_ROUTES)) {
    describe(`${name}: ${route.method.toUpperCase()} ${route.path}`, () => {
      it('exists with that method', () => {
        expect(() => op(route.method, route.path)).not.toThrow();
      });

      it('sends only query fields the route accepts, and every required one', () => {
        const params = op(route.method, route.path).parameters.filter((p) => p.in === 'query');
        const sent: readonly string[] = 'query' in route ? route.query : [];
        for (const q of sent) expect(params.map((p) => p.name), `query ${q}`).toContain(q);
        for (const p of params.filter((x) => x.required)) expect(sent, `required query ${p.name}`).toContain(p.name);
      });

      it('sends only body fields the route accepts, and every required one', () => {
        const o = op(route.method, route.path);
        const schema = o.requestBody?.content['application/json'].schema;
        const sent: readonly string[] | undefined = 'body' in route ? route.body : undefined;
        if (!schema) {
          expect(sent, 'the route takes no body').toBeUndefined();
          return;
        }
        expect(sent, 'the route takes a body').toBeDefined();
        const props = Object.keys(schema.properties ?? {});
        for (const b of sent ?? []) expect(props, `body ${b}`).toContain(b);
        for (const r of schema.required ?? []) expect(sent, `required body ${r}`).toContain(r);
      });
    });
  }

  it('knows the same command types, modes, alarm states and roles as the API', () => {
    const cmd = op('post', '/sites/{id}/commands').requestBody?.content['application/json'].schema.properties ?? {};
    expect(cmd.type?.enum).toEqual(['setpoint', 'mode', 'estop', 'reset']);
    expect(cmd.mode?.enum).toEqual(['auto', 'standby']);
    const alarmQuery = op('get', '/alarms').parameters;
    expect(alarmQuery.find((p) => p.name === 'state')?.schema.enum).toEqual(['active', 'acknowledged', 'cleared']);
    expect(alarmQuery.find((p) => p.name === 'severity')?.schema.enum).toEqual(['info', 'warning', 'critical']);
    const userBody = op('post', '/users').requestBody?.content['application/json'].schema.properties ?? {};
    expect(userBody.role?.enum).toEqual([...ROLES]);
  });
});
