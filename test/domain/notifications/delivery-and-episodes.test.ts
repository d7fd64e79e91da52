// One message per episode (a flap within the window continues the episode notified), retry delays,
// and the one word the alarm page shows for an alarm's notifications.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EPISODE_WINDOW_MS } from '../../../domain/alarm-episodes';
import { retryDelayMs } from '../../../domain/notifications/backoff';
import { deliveryLabel, summariseDelivery } from '../../../domain/notifications/delivery';
import { continuedEpisode } from '../../../domain/notifications/episodes';

const T = 1_800_000_000_000;

describe('notification episodes, backoff and delivery state', () => {
  it('a knock-on alarm of a notified episode, and a flap of its code within the window, are no news', () => {
    const notified = [{ siteId: 's1', code: 'OVER_TEMPERATURE', episodeId: 7, lastActive: T }];
    assert.equal(continuedEpisode({ id: 8, siteId: 's1', code: 'BMS_ALARM', episodeId: 7, raisedAt: T + 10 }, notified), 7);
    assert.equal(continuedEpisode({ id: 9, siteId: 's1', code: 'OVER_TEMPERATURE', episodeId: 9, raisedAt: T + EPISODE_WINDOW_MS }, notified), 7);
    assert.equal(continuedEpisode({ id: 10, siteId: 's1', code: 'OVER_TEMPERATURE', episodeId: 10, raisedAt: T + EPISODE_WINDOW_MS + 1 }, notified), null);
    assert.equal(continuedEpisode({ id: 11, siteId: 's2', code: 'OVER_TEMPERATURE', episodeId: 11, raisedAt: T }, notified), null);
    // The knock-on alarm of a flap: its root (9) was counted in episode 7.
    assert.equal(continuedEpisode({ id: 12, siteId: 's1', code: 'BMS_ALARM', episodeId: 9, raisedAt: T + 3 * EPISODE_WINDOW_MS }, notified, (id) => (id === 9 ? 7 : undefined)), 7);
  });

  it('backoff doubles from the base up to the cap', () => {
    const b = { baseMs: 1000, maxMs: 8000 };
    assert.deepEqual([1, 2, 3, 4, 5, 50].map((n) => retryDelayMs(n, b)), [1000, 2000, 4000, 8000, 8000, 8000]);
    fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }), (n) => retryDelayMs(n, b) >= b.baseMs && retryDelayMs(n, b) <= b.maxMs));
  });

  it('the alarm page says what happened to its messages', () => {
    assert.equal(deliveryLabel(summariseDelivery([])), 'not notified');
    assert.equal(deliveryLabel(summariseDelivery([{ state: 'sent', attempts: 1, level: 0 }, { state: 'sent', attempts: 3, level: 1 }])), 'notified (2), escalated to level 1');
    assert.equal(summariseDelivery([{ state: 'sent', attempts: 1, level: 0 }, { state: 'queued', attempts: 2, level: 0 }]).state, 'retrying');
    assert.equal(summariseDelivery([{ state: 'held', attempts: 0, level: 0 }]).state, 'held');
    assert.equal(deliveryLabel(summariseDelivery([{ state: 'held', attempts: 0, level: 0 }, { state: 'sent', attempts: 1, level: 0 }])), 'held (quiet hours), 1 sent');
    assert.equal(deliveryLabel(summariseDelivery([{ state: 'failed', attempts: 9, level: 0 }, { state: 'sent', attempts: 1, level: 0 }])), 'delivery failed (1 of 2)');
  });
});
