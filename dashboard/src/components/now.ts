// A clock for "12 s ago" labels: ticks while the component lives, stops with it.
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

export function useNow(everyMs = 5000): Ref<number> {
  const now = ref(Date.now());
  let timer: ReturnType<typeof setInterval> | null = null;
  onMounted(() => { timer = setInterval(() => (now.value = Date.now()), everyMs); });
  onBeforeUnmount(() => { if (timer) clearInterval(timer); });
  return now;
}
