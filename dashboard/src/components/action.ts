// A page's state-changing action: one at a time (busy), its outcome said once (ok or error), and
// the page's data reloaded after a success.
import { ref } from 'vue';
import { errorMessage } from '../api/http';

export function useAction(reload: () => Promise<unknown>) {
  const busy = ref(false);
  const error = ref<string | null>(null);
  const ok = ref<string | null>(null);

  /** Runs `f`; on success says `done` and reloads, on failure says why. */
  async function run(done: string, f: () => Promise<unknown>): Promise<void> {
    busy.value = true;
    error.value = null;
    ok.value = null;
    try {
      await f();
      ok.value = done;
      await reload();
    } catch (err) {
      error.value = errorMessage(err);
    } finally {
      busy.value = false;
    }
  }

  return { busy, error, ok, run };
}
