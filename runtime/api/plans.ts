// The latest optimisation plan per site (hub 'plan' events) and every price step plans carried:
// the arbitrage node's plan holds the day-ahead price of each step, and the financial route
// prices the measured battery energy with them, for past periods too.
import type { Plan } from '../../domain/contracts';
import { sql } from 'kysely';
import type { CloudDb } from '../cloud-db/cloud-db';

export interface PriceStep {
  start: number;
  stepMs: number;
  eurPerMWh: number;
}

// Price steps per INSERT: four parameters each, well inside either engine's limit.
const PRICE_ROWS_PER_INSERT = 500;

export class PlanStore {
  constructor(private readonly db: CloudDb) {}

  async save(siteId: string, plan: Plan): Promise<void> {
    const stepMs = plan.stepMinutes * 60_000;
    // A newer plan may re-price a step (intraday updates): the latest word wins, within a plan too.
    const byStart = new Map(plan.steps.map((s) => [s.start, s.priceEurPerMWh]));
    const rows = [...byStart].map(([start, price]) => sql`(${siteId}, ${start}, ${stepMs}, ${price})`);
    await this.db.tx(async (t) => {
      await t.run(sql`INSERT INTO plans (site_id, ts, plan) VALUES (${siteId}, ${plan.ts}, ${JSON.stringify(plan)})
        ON CONFLICT (site_id) DO UPDATE SET ts = excluded.ts, plan = excluded.plan WHERE excluded.ts >= plans.ts`);
      for (let i = 0; i < rows.length; i += PRICE_ROWS_PER_INSERT) {
        await t.run(sql`INSERT INTO prices (site_id, start, step_ms, eur_per_mwh) VALUES ${sql.join(rows.slice(i, i + PRICE_ROWS_PER_INSERT))}
          ON CONFLICT (site_id, start) DO UPDATE SET step_ms = excluded.step_ms, eur_per_mwh = excluded.eur_per_mwh`);
      }
    });
  }

  async latest(siteId: string): Promise<Plan | null> {
    const row = await this.db.one<{ plan: string }>(sql`SELECT plan FROM plans WHERE site_id = ${siteId}`);
    return row ? (JSON.parse(row.plan) as Plan) : null;
  }

  /** Price steps overlapping [from, to), oldest first. */
  async prices(siteId: string, from: number, to: number): Promise<PriceStep[]> {
    return (
      await this.db.all<{ start: number; step_ms: number; eur_per_mwh: number }>(
        sql`SELECT start, step_ms, eur_per_mwh FROM prices WHERE site_id = ${siteId} AND start < ${to} AND start + step_ms > ${from} ORDER BY start`,
      )
    ).map((p) => ({ start: p.start, stepMs: p.step_ms, eurPerMWh: p.eur_per_mwh }));
  }
}
