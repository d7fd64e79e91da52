// Anomaly detection against the simulator's truth: an isolation forest trained (in TypeScript) on
// healthy simulated cycles, exported to ONNX and scored through onnxruntime-web, over simulated
// weeks of healthy packs (false alarms per day) and of packs with a slow fault injected (detection).
// Run: npm run bench -- anomaly [--days 14]
import { N_ANOMALY_FEATURES } from '../domain/anomaly/cycle-features';
import { simulateCycles, stack, trainAnomalyModel, type Scenario } from '../runtime/ml/anomaly-eval';
import { isolationForestToOnnx } from '../runtime/ml/isolation-forest';
import { openSession, runRows, type Session } from '../io/ml/onnx-session';
import type { FaultType } from '../runtime/simulator/faults';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number`);
  return v;
}

async function scores(session: Session, s: Scenario): Promise<{ day: number; faulty: boolean; score: number }[]> {
  const rows = simulateCycles(s);
  const out = await runRows(session, stack(rows), N_ANOMALY_FEATURES);
  return rows.map((r, i) => ({ day: r.day, faulty: r.faulty, score: out[i]! }));
}

async function main(): Promise<void> {
  const days = arg('days', 14);
  const t0 = performance.now();
  const model = trainAnomalyModel();
  const trainS = (performance.now() - t0) / 1000;
  const session = await openSession(isolationForestToOnnx(model.forest, { threshold: String(model.threshold) }));
  try {
    // Healthy packs never seen in training: other cell builds, ages and rooms.
    const healthy: Scenario[] = [11, 12, 13, 14, 15, 16].map((seed, k) => ({ seed, days: days + 7, ageCycles: [50, 200, 350, 100, 300, 420][k]!, ambientC: 17 + k * 1.5 }));
    let healthyDays = 0;
    let falseAlarms = 0;
    let maxHealthy = 0;
    for (const s of healthy) {
      for (const r of await scores(session, s)) {
        healthyDays++;
        maxHealthy = Math.max(maxHealthy, r.score);
        if (r.score > model.threshold) falseAlarms++;
      }
    }
    const types: FaultType[] = ['self-discharge', 'fan-failure', 'loose-connection'];
    const perType: Record<string, { runs: number; detected: number; meanDaysToDetect: number | null }> = {};
    let runs = 0;
    let detected = 0;
    const atDay = 3;
    for (const type of types) {
      let d = 0;
      let sumDays = 0;
      const seeds = [21, 22, 23, 24];
      for (const [k, seed] of seeds.entries()) {
        const s: Scenario = { seed, days: atDay + days, ageCycles: [80, 240, 380, 0][k]!, ambientC: 18 + k * 2, fault: { type, atDay, cell: (seed * 5) % 16 } };
        const first = (await scores(session, s)).find((r) => r.faulty && r.score > model.threshold);
        if (first) {
          d++;
          sumDays += first.day - atDay + 1;
        }
      }
      perType[type] = { runs: seeds.length, detected: d, meanDaysToDetect: d ? Number((sumDays / d).toFixed(1)) : null };
      runs += seeds.length;
      detected += d;
    }
    console.log(
      JSON.stringify({
        bench: 'anomaly',
        model: 'isolation forest, 100 trees, psi 128, ONNX TreeEnsembleRegressor',
        trainingCycles: model.trainingRows,
        trainS: Number(trainS.toFixed(1)),
        threshold: Number(model.threshold.toFixed(3)),
        healthyDays,
        falseAlarms,
        falseAlarmsPerDay: Number((falseAlarms / healthyDays).toFixed(4)),
        maxHealthyScore: Number(maxHealthy.toFixed(3)),
        faultRuns: runs,
        detectionRate: Number((detected / runs).toFixed(3)),
        faultDaysWatched: days,
        perType,
      }),
    );
  } finally {
    await session.release();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
