// Editor plugin, runtime half of the device profile editor (editor half: profile-editor.html).
// Admin API routes, all behind Node-RED's own permissions (adminAuth):
//   GET  lifo4/sunspec/models, lifo4/sunspec/models/:id   (lifo4.read)  the models we ship
//   GET  lifo4/profiles, lifo4/profiles/:name             (lifo4.read)  saved profiles
//   PUT  lifo4/profiles/:name                              (lifo4.write) validated, then saved
//   POST lifo4/profiles/test-read                          (lifo4.write) one live read
//   GET  lifo4/profile-library, lifo4/profile-library/:id  (lifo4.read)  the shipped library (profiles/*.json)
// Profiles are JSON files under <userDir>/profiles/ (store.ts). A test-read talks to a device, so
// it needs write permission like a deploy would: a reader only browses.
import express, { type Request, type Response } from 'express';
import type { NodeAPI } from 'node-red';
import { join } from 'node:path';
import { describeIssues } from '../../domain/contracts';
import { ProfileError } from '../../domain/sunspec/profile';
import { transportOf } from '../../nodes/kit/connection';
import { ModbusTransport } from '../../io/modbus/transport';
import { profileLibrary, type LibraryProfile } from '../../io/profile-library';
import { browseModel, modelSummaries } from './models';
import { ProfileFileNameSchema, ProfileNotFoundError, ProfileStore } from './store';
import { testRead, TestReadRequestSchema, TestReadTimeoutError } from './test-read';

interface PluginApi { registerPlugin(id: string, def: Record<string, unknown>): void }

/** A profile is small (a few blocks of points); a 16-cell 805 block is ~2 kB. */
const BODY_LIMIT = '256kb';

function fail(res: Response, status: number, error: string): void {
  res.status(status).json({ error });
}

export = function register(RED: NodeAPI): void {
  (RED as unknown as { plugins: PluginApi }).plugins.registerPlugin('lifo4-profile-editor', { type: 'lifo4-profile-editor' });
  const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
  const store = userDir ? new ProfileStore(join(userDir, 'profiles')) : null;
  const read = RED.auth.needsPermission('lifo4.read');
  const write = RED.auth.needsPermission('lifo4.write');
  const json = express.json({ limit: BODY_LIMIT });

  RED.httpAdmin.get('/lifo4/sunspec/models', read, (_req: Request, res: Response) => {
    res.json({ models: modelSummaries() });
  });
  RED.httpAdmin.get('/lifo4/sunspec/models/:id', read, (req: Request, res: Response) => {
    const id = Number(req.params.id);
    const model = Number.isInteger(id) ? browseModel(id) : undefined;
    if (!model) return fail(res, 404, `SunSpec model ${String(req.params.id)} is not one we ship`);
    res.json(model);
  });

  // The library is read once: it ships with the package and changes only with it.
  let library: LibraryProfile[] | Error | undefined;
  const libraryOrError = (): LibraryProfile[] | Error => {
    if (!library) {
      try { library = profileLibrary(); } catch (err) { library = err as Error; }
    }
    return library;
  };
  RED.httpAdmin.get('/lifo4/profile-library', read, (_req: Request, res: Response) => {
    const lib = libraryOrError();
    if (lib instanceof Error) return fail(res, 500, lib.message);
    res.json({
      profiles: lib.map(({ id, profile: p }) => ({
        id, name: p.name, kind: p.kind, family: p.family ?? null, unitId: p.unitId ?? null, controls: p.control !== undefined, notes: p.notes ?? '', source: p.source ?? [],
      })),
    });
  });
  RED.httpAdmin.get('/lifo4/profile-library/:id', read, (req: Request, res: Response) => {
    const lib = libraryOrError();
    if (lib instanceof Error) return fail(res, 500, lib.message);
    const found = lib.find((p) => p.id === req.params.id);
    if (!found) return fail(res, 404, `no library profile ${String(req.params.id)}`);
    res.json({ id: found.id, profile: found.profile, text: found.text });
  });

  RED.httpAdmin.post('/lifo4/profiles/test-read', write, json, (req: Request, res: Response) => {
    const body = TestReadRequestSchema.safeParse(req.body);
    if (!body.success) return fail(res, 400, `test-read: ${describeIssues(body.error)}`);
    const { connection, endpoint, unitId, profile } = body.data;
    let transport: ModbusTransport;
    let own = false;
    if (connection) {
      const t = transportOf(RED, connection);
      if (t instanceof Error) return fail(res, 400, `test-read: ${t.message}`);
      transport = t;
    } else {
      const e = endpoint!;
      transport = new ModbusTransport({ host: e.host, port: e.port, timeout: e.timeout ?? 1000, queueLimit: 10 });
      own = true;
    }
    testRead(transport, unitId, profile).then(
      (result) => res.json(result),
      (err: unknown) => {
        const e = err as Error;
        if (e instanceof ProfileError) fail(res, 400, e.message);
        else if (e instanceof TestReadTimeoutError) fail(res, 504, `test-read: ${e.message}`);
        else fail(res, 502, `test-read: ${e.message}`);
      },
    ).finally(() => {
      if (own) void transport.close(0);
    });
  });

  RED.httpAdmin.get('/lifo4/profiles', read, (_req: Request, res: Response) => {
    if (!store) return fail(res, 503, 'Node-RED has no userDir: profiles cannot be stored');
    store.list().then((profiles) => res.json({ profiles }), (err: Error) => fail(res, 500, err.message));
  });

  RED.httpAdmin.get('/lifo4/profiles/:name', read, (req: Request, res: Response) => {
    const name = ProfileFileNameSchema.safeParse(req.params.name);
    if (!name.success) return fail(res, 400, `profile name: ${describeIssues(name.error)}`);
    if (!store) return fail(res, 503, 'Node-RED has no userDir: profiles cannot be stored');
    store.load(name.data).then((profile) => res.json({ file: name.data, profile }), (err: Error) => {
      if (err instanceof ProfileNotFoundError) fail(res, 404, err.message);
      else if (err instanceof ProfileError) fail(res, 422, `stored profile ${name.data} is not valid: ${err.message}`);
      else fail(res, 500, err.message);
    });
  });

  RED.httpAdmin.put('/lifo4/profiles/:name', write, json, (req: Request, res: Response) => {
    const name = ProfileFileNameSchema.safeParse(req.params.name);
    if (!name.success) return fail(res, 400, `profile name: ${describeIssues(name.error)}`);
    if (!store) return fail(res, 503, 'Node-RED has no userDir: profiles cannot be stored');
    store.save(name.data, req.body).then((profile) => {
      RED.log.info(`profile-editor: saved profile ${name.data} (${profile.name})`);
      res.json({ file: name.data, profile });
    }, (err: Error) => {
      if (err instanceof ProfileError) fail(res, 400, err.message);
      else fail(res, 500, err.message);
    });
  });
};
