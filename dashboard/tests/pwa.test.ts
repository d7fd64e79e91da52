// @vitest-environment node
// The installable app: the manifest names icons that exist at the sizes it claims, and the service
// worker keeps the app shell only: API answers and the realtime channel always go to the network.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

const pub = (p: string) => fileURLToPath(new URL(`../public/${p.replace(/^\//, '')}`, import.meta.url));

interface Icon { src: string; sizes: string; type: string; purpose: string }

describe('the web app manifest', () => {
  const manifest = JSON.parse(readFileSync(pub('manifest.webmanifest'), 'utf8')) as { start_url: string; display: string; icons: Icon[] };

  it('starts standalone at /', () => {
    expect(manifest.start_url).toBe('/');
    expect(manifest.display).toBe('standalone');
  });

  it('lists icons that exist, PNGs with the width and height they claim, including 192, 512 and a maskable one', () => {
    for (const icon of manifest.icons) {
      expect(existsSync(pub(icon.src)), icon.src).toBe(true);
      if (icon.type !== 'image/png') continue;
      const png = readFileSync(pub(icon.src));
      expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
      expect(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`).toBe(icon.sizes);
    }
    expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    expect(manifest.icons.some((i) => i.purpose === 'maskable')).toBe(true);
  });
});

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
