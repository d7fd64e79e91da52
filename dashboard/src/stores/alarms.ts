// Alarms: the list the alarms page shows and the navigation badge counts. Loaded from the API,
// then kept current by the realtime channel's alarm pushes (a changed alarm replaces its row; a
// cleared one moves to the recently cleared list, which the page shows with its clear time).
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { alarmsApi, type AlarmQuery } from '../api/endpoints';
import { errorMessage } from '../api/http';
import type { AlarmView } from '../api/types';

/** Needs someone's attention: active, not acknowledged, not silenced. */
export function needsAttention(a: AlarmView, now = Date.now()): boolean {
  if (a.state !== 'active') return false;
  if (!a.silenced) return true;
  return a.silencedUntil !== null && Date.parse(a.silencedUntil) <= now;
}

export const SEVERITY_RANK: Record<AlarmView['severity'], number> = { critical: 0, warning: 1, info: 2 };

/** How long a cleared alarm stays in the recently cleared list. */
export const CLEARED_KEPT_MS = 3_600_000;
const CLEARED_MAX = 100;

export const useAlarmsStore = defineStore('alarms', () => {
  /** Open alarms (active or acknowledged) of every site the user sees: the badge and the fleet use them. */
  const open = ref<AlarmView[]>([]);
  /** Cleared within CLEARED_KEPT_MS, newest first. */
  const cleared = ref<AlarmView[]>([]);
  /** The last alarm that cleared while the page was open: the live region announces it. */
  const lastCleared = ref<AlarmView | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);

  const activeCount = computed(() => open.value.filter((a) => needsAttention(a)).length);

  function bySite(siteId: string): AlarmView[] {
    return open.value.filter((a) => a.siteId === siteId);
  }

  async function refresh(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      const since = new Date(Date.now() - CLEARED_KEPT_MS).toISOString();
      const [active, acked, done] = await Promise.all([
        alarmsApi.list({ state: 'active', limit: 500 }), alarmsApi.list({ state: 'acknowledged', limit: 500 }), alarmsApi.list({ state: 'cleared', from: since, limit: CLEARED_MAX }),
      ]);
      open.value = [...active, ...acked];
      cleared.value = done;
    } catch (err) {
      error.value = errorMessage(err);
    } finally {
      loading.value = false;
    }
  }

  function upsert(next: AlarmView): void {
    // A realtime push carries no delivery state: keep the one the list gave.
    const prev = open.value.find((x) => x.id === next.id);
    const a = next.delivery === undefined && prev?.delivery !== undefined ? { ...next, delivery: prev.delivery } : next;
    const rest = open.value.filter((x) => x.id !== a.id);
    open.value = a.state === 'cleared' ? rest : [a, ...rest];
    if (a.state === 'cleared') {
      const cutoff = Date.now() - CLEARED_KEPT_MS;
      cleared.value = [a, ...cleared.value.filter((x) => x.id !== a.id && Date.parse(x.clearedAt ?? x.lastSeen) >= cutoff)].slice(0, CLEARED_MAX);
      lastCleared.value = a;
    }
  }

  function reset(): void {
    open.value = [];
    cleared.value = [];
    lastCleared.value = null;
    error.value = null;
  }

  /** Acknowledges the active alarms of `id`'s episode at once. */
  async function ackEpisode(id: number): Promise<AlarmView[]> {
    const r = await alarmsApi.ackEpisode(id);
    for (const a of r.alarms) upsert(a);
    return r.alarms;
  }

  async function ackSite(siteId: string): Promise<AlarmView[]> {
    const r = await alarmsApi.ackSite(siteId);
    for (const a of r.alarms) upsert(a);
    return r.alarms;
  }

  async function ack(id: number): Promise<AlarmView> {
    const a = await alarmsApi.ack(id);
    upsert(a);
    return a;
  }

  async function silence(id: number, minutes: number): Promise<AlarmView> {
    const a = await alarmsApi.silence(id, Math.round(minutes * 60));
    upsert(a);
    return a;
  }

  async function list(q: AlarmQuery): Promise<AlarmView[]> {
    return alarmsApi.list(q);
  }

  return { open, cleared, lastCleared, loading, error, activeCount, bySite, refresh, upsert, reset, ack, ackEpisode, ackSite, silence, list };
});
