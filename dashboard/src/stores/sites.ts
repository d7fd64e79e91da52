// The sites the user may see and their newest values: loaded from the API, then the realtime
// channel's pushes take over (realtime store `latest`), so the fleet page never polls fast.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { sitesApi } from '../api/endpoints';
import { errorMessage } from '../api/http';
import type { LatestView, SiteView } from '../api/types';

export type SiteWithLatest = SiteView & { latest?: LatestView | null };

export const useSitesStore = defineStore('sites', () => {
  const sites = ref<SiteWithLatest[]>([]);
  const loaded = ref(false);
  const loading = ref(false);
  const error = ref<string | null>(null);

  async function refresh(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      sites.value = await sitesApi.list();
      loaded.value = true;
    } catch (err) {
      error.value = errorMessage(err);
    } finally {
      loading.value = false;
    }
  }

  function byId(id: string): SiteWithLatest | undefined {
    return sites.value.find((s) => s.id === id);
  }

  return { sites, loaded, loading, error, refresh, byId };
});
