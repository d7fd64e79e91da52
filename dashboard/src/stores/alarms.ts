// Alarms: the list the alarms page shows and the navigation badge counts. Loaded from the API,
// then kept current by the realtime channel's alarm pushes (a changed alarm replaces its row).
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

export const useAlarmsStore = defineStore('alarms', () => {
  /** Open alarms (active or acknowledged) of every site the user sees: the badge and the fleet use them. */
  const open = ref<AlarmView[]>([]);
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
      const [active, acked] = await Promise.all([alarmsApi.list({ state: 'active', limit: 500 }), alarmsApi.list({ state: 'acknowledged', limit: 500 })]);
      open.value = [...active, ...acked];
    } catch (err) {
      error.value = errorMessage(err);
    } finally {
      loading.value = false;
    }
  }

  function upsert(a: AlarmView): void {
    const rest = open.value.filter((x) => x.id !== a.id);
    open.value = a.state === 'cleared' ? rest : [a, ...rest];
  }

  function reset(): void {
    open.value = [];
    error.value = null;
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

  return { open, loading, error, activeCount, bySite, refresh, upsert, reset, ack, silence, list };
});
