// Live data from the realtime channel: the connection state, each site's newest values and a short
// rolling window per site for the live charts, command acks by id, and the latest plans. Alarms go
// to the alarms store. Views read here; nothing here polls.
import { defineStore } from 'pinia';
import { reactive, ref, shallowRef, triggerRef } from 'vue';
import { openChannel, type RealtimeChannel, type TelemetryPush } from '../realtime/channel';
import type { CommandAck, DecisionSummary, EnvelopeSummary, Plan } from '../api/types';
import { useAuthStore } from './auth';
import { useAlarmsStore } from './alarms';

/** Live points kept per site: 15 min at one record per second. */
export const LIVE_WINDOW = 900;

export interface LivePoint {
  ts: number;
  fields: Record<string, number>;
}

export interface SiteLive {
  ts: number;
  fields: Record<string, number>;
  decision: DecisionSummary | null;
  envelope: EnvelopeSummary | null;
}

export const useRealtimeStore = defineStore('realtime', () => {
  const status = ref<'idle' | 'connecting' | 'live' | 'offline'>('idle');
  const reason = ref<string | null>(null);
  const latest = reactive<Record<string, SiteLive>>({});
  /** Not deeply reactive (hundreds of points per site): bumped with triggerRef on every push. */
  const windows = shallowRef<Record<string, LivePoint[]>>({});
  const acks = reactive<Record<string, CommandAck[]>>({});
  const siteStates = reactive<Record<string, { state: 'online' | 'offline'; ts: number }>>({});
  const plans = reactive<Record<string, Plan>>({});
  /** Bumped whenever a roll-out changes: the OTA page watches it and reloads. */
  const otaChanges = ref(0);
  let channel: RealtimeChannel | null = null;
  const ackWaiters = new Set<(ack: CommandAck) => void>();

  function ingest(p: TelemetryPush): void {
    const prev = latest[p.siteId];
    latest[p.siteId] = {
      ts: p.ts,
      // A record may carry only some parts: keep the last known value of the others.
      fields: { ...(prev?.fields ?? {}), ...p.fields },
      decision: p.decision ?? prev?.decision ?? null,
      envelope: p.envelope ?? prev?.envelope ?? null,
    };
    const w = windows.value[p.siteId] ?? [];
    w.push({ ts: p.ts, fields: p.fields });
    if (w.length > LIVE_WINDOW) w.splice(0, w.length - LIVE_WINDOW);
    windows.value[p.siteId] = w;
    triggerRef(windows);
  }

  function connect(): void {
    if (channel) return;
    const auth = useAuthStore();
    const alarms = useAlarmsStore();
    channel = openChannel(
      () => auth.accessToken,
      {
        status: (s, r) => { status.value = s; reason.value = r ?? null; },
        telemetry: ingest,
        alarm: (a) => alarms.upsert(a),
        ack: (a) => {
          (acks[a.id] ??= []).push(a);
          for (const w of ackWaiters) w(a);
        },
        plan: ({ siteId, plan }) => { plans[siteId] = plan; },
        state: (s) => { siteStates[s.siteId] = { state: s.state, ts: s.ts }; },
        ota: () => { otaChanges.value++; },
      },
      () => auth.refresh(),
    );
  }

  function disconnect(): void {
    channel?.close();
    channel = null;
    status.value = 'idle';
  }

  /** Calls `fn` for every ack that arrives until the returned function is called. */
  function onAck(fn: (ack: CommandAck) => void): () => void {
    ackWaiters.add(fn);
    return () => ackWaiters.delete(fn);
  }

  return { status, reason, latest, windows, acks, siteStates, plans, otaChanges, connect, disconnect, ingest, onAck };
});
