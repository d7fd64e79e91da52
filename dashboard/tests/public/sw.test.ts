// @vitest-environment node
// The service worker keeps the app shell only: API answers and the realtime channel always go to
// the network.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

const pub = (p: string) => fileURLToPath(new URL(`../../public/${p.replace(/^\//, '')}`, import.meta.url));

describe('the service worker', () => {
  // sw.js runs in a service-worker global; here it gets a minimal one that records what it does.
  function load() {
    const listeners: Record<string, (e: unknown) => void> = {};
    const self = { addEventListener: (type: string, fn: (e: unknown) => void) => (listeners[type] = fn), location: { origin: 'https://ems.example' } };
    // Offline, with the shell cached under '/' and nothing else.
    const caches = { match: (key: unknown) => Promise.resolve(key === '/' ? 'cached shell' : undefined), open: () => Promise.resolve({ put: () => Promise.resolve() }) };
    runInNewContext(readFileSync(pub('sw.js'), 'utf8'), { self, URL, caches, fetch: () => Promise.reject(new Error('offline')), Response });
    return (url: string, mode = 'cors', method = 'GET'): Promise<unknown> | null => {
      let answer: Promise<unknown> | null = null;
      listeners.fetch?.({ request: { url, mode, method }, respondWith: (p: Promise<unknown>) => { answer = p.catch((e: Error) => `failed: ${e.message}`); } });
      return answer;
    };
  }

  it('leaves API calls, the realtime channel, the editor and metrics to the network', () => {
    const handles = load();
    expect(handles('https://ems.example/api/v1/sites')).toBeNull();
    expect(handles('https://ems.example/api/v1/realtime/?EIO=4&transport=polling')).toBeNull();
    expect(handles('https://ems.example/editor/')).toBeNull();
    expect(handles('https://ems.example/metrics')).toBeNull();
    expect(handles('https://ems.example/api/v1/sites', 'cors', 'POST')).toBeNull();
  });

  it('opens the cached shell for any page when offline, and handles hashed build files', async () => {
    const handles = load();
    await expect(handles('https://ems.example/sites/site-1', 'navigate')).resolves.toBe('cached shell');
    expect(handles('https://ems.example/assets/index-abc123.js')).not.toBeNull();
    expect(handles('https://other.example/assets/x.js')).toBeNull();
  });
});
