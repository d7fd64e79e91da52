// GET /history/load on the simulator's control API: the net load (load - PV, W -> kW) the site's
// meter would have shown over the past days, in 15-minute means, from the real profile the site
// replays (data/household_profile.csv or the Berlin demand, see site-profile.ts). A fresh edge has
// no load history, and its forecast needs 14 days of it: beside the simulator the past it asks for
// is the replayed data itself, never an invented curve.
//
// Time: the edge stamps telemetry with its wall clock, the simulator runs its own clock (from
// mid-June of the profile's year, `speed` times the wall clock). A wall-clock step [w, w + 15 min)
// in the past is what the site did over the simulated span that maps onto it:
// sim(w) = simNow - (wallNow - w) x speed, so the seed continues seamlessly into the live readings.
import { z } from 'zod';
import type { SiteProfile } from './site-profile';

export const STEP_MS = 900_000;
const STEPS_PER_DAY = 96;
/** Samples averaged per step (1-minute spacing at speed 1): the profile is linear between its 15-minute points. */
const SAMPLES_PER_STEP = 15;

/**
 * Query of GET /history/load. 15 days by default: the 14 whole days before today's midnight the
 * forecast of today reads, plus today so far, whatever the time of day.
 */
export const LoadHistoryQuerySchema = z.object({
  days: z.coerce.number().int().min(1).max(60).default(15),
});

/** The answer: a load-forecast history seed (domain/forecast/load-history.ts LoadHistorySeedSchema). */
export interface ReplayedLoadHistory {
  start: number;
  stepMinutes: 15;
  loadKw: number[];
  /** Simulated time of the first step's start, ISO 8601: which part of the data this is. */
  simStart: string;
  source: string;
}

export function replayedNetLoad(profile: SiteProfile, simNowMs: number, wallNowMs: number, speed: number, days: number, source: string): ReplayedLoadHistory {
  // Whole wall-clock steps that ended by now.
  const end = Math.floor(wallNowMs / STEP_MS) * STEP_MS;
  const n = days * STEPS_PER_DAY;
  const start = end - n * STEP_MS;
  const simAt = (wallMs: number): number => simNowMs - (wallNowMs - wallMs) * speed;
  const loadKw: number[] = [];
  for (let i = 0; i < n; i++) {
    const from = simAt(start + i * STEP_MS);
    const span = STEP_MS * speed;
    let sum = 0;
    for (let k = 0; k < SAMPLES_PER_STEP; k++) {
      const p = profile.at(from + ((k + 0.5) / SAMPLES_PER_STEP) * span);
      sum += p.loadW - p.pvW;
    }
    loadKw.push(Math.round(sum / SAMPLES_PER_STEP) / 1000);
  }
  return { start, stepMinutes: 15, loadKw, simStart: new Date(simAt(start)).toISOString(), source };
}
