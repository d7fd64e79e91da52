// The features of one battery cycle that the anomaly model scores, in the model's input order
// (cycle-features.ts computes them; the anomaly-score message names them).
export const FEATURE_NAMES = ['restSpreadMv', 'restDriftMvPerH', 'loadDeviationMohm', 'resistanceMohm', 'thermalKPerKA2'] as const;
