import { describe, expect, it } from 'vitest';
import { batteryDirection, formatAgo, formatDay, formatEur, formatMillivolt, formatPower, formatSoh, formatTime, gridDirection, humanizeMoments } from '../src/format';

describe('numbers with units', () => {
  it('scale power to W, kW and MW and keep the sign', () => {
    expect(formatPower(850)).toBe('850 W');
    expect(formatPower(-1234)).toBe('-1.23 kW');
    expect(formatPower(2_500_000)).toBe('2.50 MW');
    expect(formatPower(null)).toBe('—');
  });

  it('say what the sign means for the battery and the grid', () => {
    expect(batteryDirection(1200)).toBe('discharging');
    expect(batteryDirection(-1200)).toBe('charging');
    expect(batteryDirection(5)).toBe('idle');
    expect(gridDirection(300)).toBe('importing');
    expect(gridDirection(-300)).toBe('exporting');
  });

  it('show the cell spread in mV, money in euro and ages in words', () => {
    expect(formatMillivolt(0.0456)).toBe('46 mV');
    expect(formatEur(-1.5)).toBe('−€1.50');
    expect(formatAgo(1_000, 61_000)).toBe('1 min ago');
    expect(formatAgo(null)).toBe('never');
  });
});

describe('dates and shared formats', () => {
  const t = Date.UTC(2026, 11, 7, 6, 19, 25, 510);

  it('write dates with the month in words, in the given locale, never as 12/07/2026 or ISO', () => {
    expect(formatDay(t, { utc: true, locale: 'en-GB' })).toBe('7 Dec 2026');
    expect(formatDay(t, { utc: true, locale: 'en-US' })).toBe('Dec 7, 2026');
    expect(formatDay(t, { utc: true, locale: 'de-DE' })).toBe('7. Dez. 2026');
    for (const locale of ['en-US', 'en-GB', 'de-DE']) {
      const s = formatTime(t, locale);
      expect(s).not.toMatch(/\d{1,2}\/\d{1,2}\/\d{4}|\d{4}-\d{2}-\d{2}/);
      expect(s).toMatch(/2026/);
    }
  });

  it('turn ISO moments inside text (model names) into dates', () => {
    const s = humanizeMoments('forecast.onnx 2026-12-07T06:19:25.510Z', 'en-GB');
    expect(s).toMatch(/^forecast\.onnx 7 Dec 2026, \d{2}:\d{2}$/);
    expect(humanizeMoments('forecast.onnx factory')).toBe('forecast.onnx factory');
  });

  it('show SoH the same way everywhere', () => {
    expect(formatSoh(99.04)).toBe('99.0 %');
    expect(formatSoh(100)).toBe('100.0 %');
    expect(formatSoh(undefined)).toBe('—');
  });
});
