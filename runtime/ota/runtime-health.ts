// How a runtime tells the agent that manages it that it is healthy: over the Node IPC channel the
// agent opens when it spawns the runtime. The agent judges a new release on these reports during its
// health window (MQTT connected, flows started, device polling fresh, no restarts).
import { z } from 'zod';

export const RuntimeHealthSchema = z.strictObject({
  type: z.literal('lifo4-health'),
  mqttConnected: z.boolean(),
  flowsStarted: z.boolean(),
  /** Age of the newest device poll, ms; null when nothing was polled yet. */
  pollAgeMs: z.number().min(0).nullable(),
});
export type RuntimeHealth = z.infer<typeof RuntimeHealthSchema>;

/** A poll older than this is not "fresh" (ten control cycles of the default 1 s). */
export const POLL_FRESH_MS = 10_000;

/** Why a report is not healthy, or null when it is. */
export function unhealthyBecause(h: RuntimeHealth, pollFreshMs = POLL_FRESH_MS): string | null {
  if (!h.flowsStarted) return 'flows not started';
  if (!h.mqttConnected) return 'MQTT not connected';
  if (h.pollAgeMs === null) return 'no device poll yet';
  if (h.pollAgeMs > pollFreshMs) return `device polling stale (${Math.round(h.pollAgeMs)} ms)`;
  return null;
}

/** For the runtime: sends a report when it runs under the agent (no-op otherwise). */
export function reportHealthToAgent(h: Omit<RuntimeHealth, 'type'>): void {
  if (typeof process.send === 'function' && process.connected) process.send({ type: 'lifo4-health', ...h });
}

/**
 * For the edge runtime (runtime/app, when process.send exists): reports every `intervalMs` what
 * the agent judges a new release on. Returns the stop function (call it on shutdown).
 */
export function startAgentHealthReports(facts: { mqttConnected(): boolean; flowsStarted(): boolean; lastPollTs(): number | null }, intervalMs = 2000): () => void {
  if (typeof process.send !== 'function') return () => undefined;
  const timer = setInterval(() => {
    const last = facts.lastPollTs();
    // Before the flows start there are no nodes to ask about their link (Node-RED's registry throws then).
    const started = facts.flowsStarted();
    reportHealthToAgent({ mqttConnected: started && facts.mqttConnected(), flowsStarted: started, pollAgeMs: last === null ? null : Math.max(0, Date.now() - last) });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
