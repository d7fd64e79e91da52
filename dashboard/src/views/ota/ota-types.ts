// What the OTA routes answer (runtime/ota/rollout.ts RolloutView and TargetView, ota-cloud.ts BundleInfo).
export interface BundleInfo { version: string; sequence: number; arch: string; node: string; payloadBytes: number; payloadSha256: string }

export type RolloutState = 'running' | 'paused' | 'aborted' | 'completed';

export interface RolloutView {
  id: string;
  version: string;
  sequence: number;
  state: RolloutState;
  reason: string | null;
  stage: number;
  stagePercent: number;
  stageStartedAt: number;
  createdAt: number;
  createdBy: string | null;
  config: { stages: number[]; stageMs: number; successShare: number; failureShare: number; minSites: number; silentMs: number };
  counts: { targets: number; notified: number; committed: number; failed: number; silent: number; pending: number };
}

export interface TargetView {
  siteId: string;
  stage: number;
  phase: string;
  reason: string | null;
  notifiedAt: number | null;
  reportedAt: number | null;
  final: boolean;
}

/** The tone of a StatusChip for a roll-out state or a site's phase. */
export function toneOf(s: string): 'ok' | 'warn' | 'crit' | 'idle' {
  if (s === 'completed' || s === 'committed') return 'ok';
  if (s === 'paused' || s === 'silent' || s === 'pending') return 'warn';
  if (s === 'aborted' || s === 'rolled-back' || s === 'refused' || s === 'failed') return 'crit';
  return 'idle';
}

/** A roll-out's tone: one that completed with failed sites is not all green. */
export function rolloutTone(d: Pick<RolloutView, 'state' | 'counts'>): 'ok' | 'warn' | 'crit' | 'idle' {
  return d.state === 'completed' && d.counts.failed > 0 ? 'warn' : toneOf(d.state);
}
