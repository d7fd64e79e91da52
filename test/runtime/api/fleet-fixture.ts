// A small fleet for the API tests: organisation `default` (A) with sites site-a and site-a2 and one
// user per role (the USER assigned to site-a only), organisation org-b with site-b and an ADMIN,
// a VIEWER "victim" in A for the user routes, telemetry in the store, a plan, and an alarm.
import { strict as assert } from 'node:assert';
import { ROLES, type Plan, type Role } from '../../../domain/contracts';
import { sql } from 'kysely';
import { DEFAULT_ORG_ID } from '../../../runtime/cloud-db/cloud-db';
import type { UserRow } from '../../../runtime/api/users';
import { createUser, login, record, type Harness, type Session } from './harness';

export interface Fleet {
  sessions: Record<Role, Session>;
  otherOrgAdmin: Session;
  otherOrgViewer: Session;
  victim: UserRow;
  alarmId: number;
  t0: number;
}

export const ORG_B = 'org-b';

export function plan(siteId: string, start: number, prices: number[]): Plan {
  return {
    siteId, ts: start, stepMinutes: 60, objectiveEur: 1.25, solveMs: 12, reason: 'test plan',
    steps: prices.map((p, i) => ({ start: start + i * 3_600_000, priceEurPerMWh: p, powerW: p > 50 ? 2000 : -2000, socPct: 50, gridW: null })),
  };
}

export async function buildFleet(h: Harness): Promise<Fleet> {
  await h.users.createOrg(ORG_B, 'Organisation B');
  const t0 = Date.now() - 3_600_000;
  // Sites register themselves on their first record (default organisation); site-b is moved to B by its admin route.
  for (const [i, siteId] of ['site-a', 'site-a2'].entries()) {
    const r = record(siteId, 1, t0 + i);
    await h.store.write([r]);
    h.hub.emit('record', r);
  }
  await h.api.db.run(sql`INSERT INTO sites (id, org_id, name, created_at) VALUES (${'site-b'}, ${ORG_B}, ${'Site B'}, ${Date.now()})`);
  await h.store.write([record('site-b', 1, t0)]);
  h.hub.emit('plan', { siteId: 'site-a', plan: plan('site-a', t0, [40, 60, 80]) });
  h.hub.emit('state', { v: 1, siteId: 'site-a', state: 'offline', ts: t0 + 10 });
  await h.api.settled();
  const alarm = await h.api.db.one<{ id: number }>(sql`SELECT id FROM alarms WHERE site_id = 'site-a' AND code = 'SITE_OFFLINE'`);
  assert.ok(alarm, 'the offline state raised SITE_OFFLINE');

  const sessions = {} as Record<Role, Session>;
  for (const role of ROLES) {
    const u = await createUser(h, `${role.toLowerCase()}@a.example`, role, DEFAULT_ORG_ID, role === 'USER' ? ['site-a'] : undefined);
    sessions[role] = await login(h, u);
  }
  const otherOrgAdmin = await login(h, await createUser(h, 'admin@b.example', 'ADMIN', ORG_B));
  const otherOrgViewer = await login(h, await createUser(h, 'viewer@b.example', 'VIEWER', ORG_B));
  const victim = await createUser(h, 'victim@a.example', 'VIEWER', DEFAULT_ORG_ID);
  return { sessions, otherOrgAdmin, otherOrgViewer, victim, alarmId: alarm.id, t0 };
}
