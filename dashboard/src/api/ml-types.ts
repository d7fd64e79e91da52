// What the /ml routes answer (runtime/api/ml-handlers.ts), as the Insights view uses it: times are
// ISO 8601, load in kW per 15-minute step, SoH in %.

export type Origin = 'edge' | 'cloud';

/** One load forecast of the day with its error against the actual load (null: nothing to compare yet). */
export interface ForecastView {
  model: string;
  madeAt: string;
  start: string;
  loadKw: number[];
  filledSteps: number;
  maeKw: number | null;
  mapePct: number | null;
  comparedSteps: number;
}

/** GET /ml/sites/:id/forecast */
export interface DayForecast {
  siteId: string;
  day: string;
  start: string;
  stepMinutes: number;
  edge: ForecastView | null;
  cloud: ForecastView | null;
  actualKw: (number | null)[];
}

export interface SohPoint {
  ts: string;
  origin: Origin;
  sohPct: number;
  sdPct: number;
  capacityWh: number;
  /** 'measured' once a capacity measurement went in, else 'prior' (the ageing model alone). */
  source: string;
  measurements: number;
  cycles: number;
  priorPct: number;
}

export interface AnomalyCycle {
  cycleStart: string;
  cycleEnd: string;
  origin: Origin;
  model: string;
  score: number;
  threshold: number;
  anomalous: boolean;
  features: Record<string, number>;
  samples: number;
}

/** GET /ml/sites/:id/anomalies */
export interface AnomalyHistory {
  siteId: string;
  from: string;
  to: string;
  threshold: number | null;
  cycles: AnomalyCycle[];
}

export interface ModelSeen {
  siteId: string;
  kind: 'forecast' | 'soh' | 'anomaly';
  origin: Origin;
  name: string;
  firstSeen: string;
  lastSeen: string;
}

export interface RetrainView {
  siteId: string;
  kind: 'forecast';
  at: string;
  evalFrom: string;
  evalTo: string;
  current: { model: string; mae: number; mapePct: number | null };
  candidate: { model: string; mae: number; mapePct: number | null; trainDays: number };
  replaced: boolean;
  modelAfter: string;
}

/** GET /ml/models */
export interface ModelVersions {
  models: ModelSeen[];
  retrains: RetrainView[];
}
