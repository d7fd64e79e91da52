import { describe, expect, it } from 'vitest';
import { batteryDirection, formatAgo, formatEur, formatMillivolt, formatPower, gridDirection } from '../src/format';

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
