// Quiet hours: a daily window of local time in an IANA zone. Whatever the moment, the window and
// the zone (daylight saving included), a message is never delivered inside the window, and it is
// delivered at the window's first free minute, not later.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deliverAt, inQuietHours, isTimeZone, localMinutes } from '../../../domain/notifications/quiet-hours';
import type { QuietHours } from '../../../domain/notifications/rules';

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'Pacific/Chatham', 'America/St_Johns'];
const hhmm = fc.integer({ min: 0, max: 1439 }).map((m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);
const window = fc.record({ start: hhmm, end: hhmm, timeZone: fc.constantFrom(...ZONES) }).filter((q) => q.start !== q.end);
// 2020..2030, to the second: covers every daylight-saving change of those years.
const moment = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }).map((t) => t - (t % 1000));

describe('quiet hours', () => {
  it('22:00-07:00 in Berlin holds an alarm at 23:30 local until 07:00 local the next morning', () => {
    const q: QuietHours = { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' };
    const at = Date.parse('2026-12-07T22:30:00Z'); // 23:30 CET
    assert.equal(inQuietHours(at, q), true);
    assert.equal(new Date(deliverAt(at, q)).toISOString(), '2026-12-08T06:00:00.000Z');
  });

  it('outside the window a message goes at once', () => {
    const q: QuietHours = { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' };
    const at = Date.parse('2026-12-07T12:00:00Z');
    assert.equal(deliverAt(at, q), at);
    assert.equal(deliverAt(at, null), at);
  });

  it('a window ending in the hour the clocks skip ends when local time resumes', () => {
    // Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 never happens.
    const q: QuietHours = { start: '01:00', end: '02:30', timeZone: 'Europe/Berlin' };
    const at = Date.parse('2026-03-29T00:15:00Z'); // 01:15 CET
    const out = deliverAt(at, q);
    assert.equal(inQuietHours(out, q), false);
    assert.equal(new Date(out).toISOString(), '2026-03-29T01:00:00.000Z'); // 03:00 CEST
  });

  it('reads local time in the zone, half-hour and 45-minute offsets included', () => {
    assert.equal(localMinutes(Date.parse('2026-01-01T00:00:00Z'), 'Asia/Kolkata'), 5 * 60 + 30);
    assert.equal(localMinutes(Date.parse('2026-07-01T00:00:00Z'), 'Pacific/Chatham'), 12 * 60 + 45);
    assert.equal(isTimeZone('Europe/Berlin'), true);
    assert.equal(isTimeZone('Mars/Olympus_Mons'), false);
  });

  it('never delivers inside the window, never early, and at its first free minute (property)', () => {
    fc.assert(
      fc.property(moment, window, (ts, q) => {
        const out = deliverAt(ts, q);
        assert.ok(out >= ts, 'not before the alarm');
        assert.equal(inQuietHours(out, q), false, `delivered inside ${q.start}-${q.end} ${q.timeZone} at ${new Date(out).toISOString()}`);
        if (!inQuietHours(ts, q)) assert.equal(out, ts, 'outside the window: at once');
        else {
          assert.ok(out - ts <= 25 * 3_600_000, 'within a day (and a daylight-saving hour)');
          assert.ok(inQuietHours(out - 60_000, q) || out - 60_000 < ts, 'the minute before delivery is still quiet');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
