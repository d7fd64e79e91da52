// The OTA page: a SUPER_ADMIN sees the bundles and roll-outs, starts a canary roll-out with the
// stages and thresholds it chose, and steers a running one. The API is played by a fetch stub.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import OtaView from '../../../src/views/ota/OtaView.vue';
import { useAuthStore } from '../../../src/stores/auth';
import { useRealtimeStore } from '../../../src/stores/realtime';

const rollout = {
  id: 'dep-1', version: '2.0.0', sequence: 2, state: 'running', reason: null, stage: 1, stagePercent: 25, stageStartedAt: 0, createdAt: Date.UTC(2026, 0, 1), createdBy: 'root@x',
  config: { stages: [5, 25, 50, 100], stageMs: 86_400_000, successShare: 0.95, failureShare: 0.1, minSites: 3, silentMs: 2_100_000 },
  counts: { targets: 20, notified: 5, committed: 4, failed: 1, silent: 1, pending: 15 },
};

describe('the OTA page', () => {
  let calls: { method: string; url: string; body: unknown }[];

  beforeEach(() => {
    document.body.innerHTML = '';
    calls = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
      const method = init.method ?? 'GET';
      calls.push({ method, url, body: init.body ? JSON.parse(String(init.body)) : undefined });
      const json = (b: unknown, status = 200) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } });
      if (url.startsWith('/api/v1/sites')) return json({ sites: [{ id: 'site-1', name: 'Site 1', state: 'online' }, { id: 'site-2', name: 'Site 2', state: 'online' }] });
      if (url.startsWith('/api/v1/ota/bundles')) return json({ bundles: [{ version: '2.0.0', sequence: 2, arch: 'x64', node: '20', payloadBytes: 1, payloadSha256: 'ab' }] });
      if (url.startsWith('/api/v1/ota/deployments') && method === 'GET') return json({ deployments: [rollout] });
      if (url === '/api/v1/ota/deployments' && method === 'POST') return json({ ...rollout, id: 'dep-2' }, 201);
      if (method === 'POST') return json({ ...rollout, state: 'paused' });
      return json({ error: 'not_found', message: 'x' }, 404);
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  function mountAsRoot() {
    const pinia = createPinia();
    setActivePinia(pinia);
    const auth = useAuthStore();
    auth.accessToken = 't';
    auth.user = { id: 'u', email: 'root@x', role: 'SUPER_ADMIN', orgId: 'default', twoFactor: true, disabled: false, siteIds: [], createdAt: '' };
    return mount(OtaView, { global: { plugins: [pinia] }, attachTo: document.body });
  }

  it('lists roll-outs with their stage, counts and silent sites', async () => {
    const w = mountAsRoot();
    await flushPromises();
    const row = w.find('[data-test=ota-deployments] tbody tr');
    expect(row.text()).toContain('2.0.0');
    expect(row.text()).toContain('2 / 4 (25 %)');
    expect(row.text()).toContain('4 / 20');
    expect(row.text()).toContain('1 silent');
    w.unmount();
  });

  it('starts a roll-out with the chosen sites, stages and thresholds', async () => {
    const w = mountAsRoot();
    await flushPromises();
    await w.find('[data-test=ota-form] select[multiple]').setValue(['site-1', 'site-2']);
    await w.find('[data-test=ota-form]').trigger('submit');
    await flushPromises();
    const post = calls.find((c) => c.method === 'POST' && c.url === '/api/v1/ota/deployments');
    expect(post?.body).toEqual({ version: '2.0.0', siteIds: ['site-1', 'site-2'], stages: [5, 25, 50, 100], stageHours: 24, successShare: 0.95, failureShare: 0.1, minSites: 3 });
    expect(w.text()).toContain('Roll-out of 2.0.0 started');
    w.unmount();
  });

  it('pauses a running roll-out', async () => {
    const w = mountAsRoot();
    await flushPromises();
    const pause = w.findAll('button').find((b) => b.text() === 'Pause');
    await pause!.trigger('click');
    await flushPromises();
    expect(calls.some((c) => c.method === 'POST' && c.url === '/api/v1/ota/deployments/dep-1/pause')).toBe(true);
    w.unmount();
  });

  it('reloads the roll-outs when the realtime channel says one changed', async () => {
    const w = mountAsRoot();
    await flushPromises();
    const gets = () => calls.filter((c) => c.method === 'GET' && c.url.startsWith('/api/v1/ota/deployments')).length;
    const before = gets();
    useRealtimeStore().otaChanges++;
    await flushPromises();
    expect(gets()).toBe(before + 1);
    w.unmount();
  });
});
