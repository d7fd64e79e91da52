// The tests' client of a simulator's control API (runtime/simulator/control-api.ts): JSON calls,
// its GET /state, and a poll until the simulated site is in the state a test waits for.
import type { SiteState } from '../../../runtime/simulator';

export interface SimControl {
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  state(): Promise<SiteState>;
  /** Polls GET /state until `test` holds; the timeout names `what` and shows the part of the state `shown` picks (default the PCS). */
  until(test: (s: SiteState) => boolean, what: string, ms?: number, shown?: (s: SiteState) => unknown): Promise<SiteState>;
}

/** `port` is read at each call, so a test may start a new simulator per test behind the same client. */
export function simControl(port: () => number): SimControl {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${port()}${path}`, {
      method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }
  const state = (): Promise<SiteState> => call<SiteState>('GET', '/state');
  async function until(test: (s: SiteState) => boolean, what: string, ms = 15_000, shown: (s: SiteState) => unknown = (s) => ({ pcs: s.pcs })): Promise<SiteState> {
    const end = Date.now() + ms;
    for (;;) {
      const s = await state();
      if (test(s)) return s;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; ${JSON.stringify(shown(s))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { call, state, until };
}
