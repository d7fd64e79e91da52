// The latest optimisation plan per site (hub 'plan' events) and every price step plans carried:
// the arbitrage node's plan holds the day-ahead price of each step, and the financial route
// prices the measured battery energy with them, for past periods too.
import type { Plan } from '../../domain/contracts';
import type { CloudDb } from '../cloud-db/cloud-db';

export interface PriceStep {
  start: number;
  stepMs: number;
  eurPerMWh: number;
}

export class PlanStore {
  constructor(private readonly db: CloudDb) {}

  save(siteId: string, plan: Plan): void {
    const stepMs = plan.stepMinutes * 60_000;
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO plans (site_id, ts, plan) VALUES (?, ?, ?) ON CONFLICT (site_id) DO UPDATE SET ts = excluded.ts, plan = excluded.plan WHERE excluded.ts >= plans.ts')
        .run(siteId, plan.ts, JSON.stringify(plan));
      // A newer plan may re-price a step (intraday updates): the latest word wins.
      const up = this.db.prepare('INSERT OR REPLACE INTO prices (site_id, start, step_ms, eur_per_mwh) VALUES (?, ?, ?, ?)');
      for (const s of plan.steps) up.run(siteId, s.start, stepMs, s.priceEurPerMWh);
    })();
  }

  latest(siteId: string): Plan | null {
    const row = this.db.prepare('SELECT plan FROM plans WHERE site_id = ?').get(siteId) as { plan: string } | undefined;
    return row ? (JSON.parse(row.plan) as Plan) : null;
  }

  /** Price steps overlapping [from, to), oldest first. */
  prices(siteId: string, from: number, to: number): PriceStep[] {
    return (
      this.db
        .prepare('SELECT start, step_ms, eur_per_mwh FROM prices WHERE site_id = ? AND start < ? AND start + step_ms > ? ORDER BY start')
        .all(siteId, to, from) as { start: number; step_ms: number; eur_per_mwh: number }[]
    ).map((p) => ({ start: p.start, stepMs: p.step_ms, eurPerMWh: p.eur_per_mwh }));
  }
}
