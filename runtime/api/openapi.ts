// The OpenAPI 3.1 document of /api/v1, generated from the route table and its zod schemas (zod 4's
// JSON Schema output is draft 2020-12, which OpenAPI 3.1 uses as is), so the document cannot
// drift from what the server validates. Each operation names the roles allowed (x-roles).
import { z } from 'zod';
import { ROLES } from '../../domain/contracts';
import { rolesWith, type Permission } from '../../domain/permissions';
import { ROUTE_IDS, ROUTES, type RouteSpec } from './routes';

type JsonSchema = Record<string, unknown>;

function schemaOf(s: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** The roles a route admits: every role for public and authenticated routes. */
export function rolesFor(spec: RouteSpec): string[] {
  if (spec.access === 'public' || spec.access === 'authenticated' || spec.access === 'enrolment') return [...ROLES];
  return rolesWith(spec.access as Permission);
}

function parameters(spec: RouteSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [['path', spec.params], ['query', spec.query]] as const) {
    if (!schema) continue;
    const js = schemaOf(schema);
    const props = (js.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((js.required ?? []) as string[]);
    for (const [name, s] of Object.entries(props)) out.push({ name, in: where, required: where === 'path' || required.has(name), schema: s });
  }
  return out;
}

const ERROR = { $ref: '#/components/responses/Error' };

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const id of ROUTE_IDS) {
    const spec: RouteSpec = ROUTES[id];
    const path = spec.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const op: Record<string, unknown> = {
      operationId: id,
      tags: [spec.tag],
      summary: spec.summary,
      'x-access': spec.access,
      'x-roles': rolesFor(spec),
      ...(spec.access === 'public' ? { security: [] } : {}),
      parameters: parameters(spec),
      responses: {
        [String(spec.status)]: {
          description: 'success',
          content: { 'application/json': { schema: {} }, ...Object.fromEntries((spec.files ?? []).map((t) => [t, { schema: { type: 'string', format: 'binary' } }])) },
        },
        '400': ERROR,
        ...(spec.access === 'public' ? {} : { '401': ERROR, '403': ERROR }),
        ...(spec.scope ? { '404': ERROR } : {}),
        '429': ERROR,
      },
    };
    if (spec.body) op.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(spec.body) } } };
    (paths[path] ??= {})[spec.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'LiFePO4 EMS cloud API', version, description: 'Times are ISO 8601; power in W, + = battery discharging; errors are {error, message, details?}.' },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      responses: {
        Error: {
          description: 'an error',
          content: {
            'application/json': {
              schema: { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' }, details: {} } },
            },
          },
        },
      },
    },
  };
}
