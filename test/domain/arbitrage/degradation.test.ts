// The degradation cost per kWh of throughput, from the measured LFP ageing curve.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cyclesToEol, degradationEurPerKwh, fadePerCycle } from '../../../domain/arbitrage/degradation';
import { parseAgeingCsv } from '../../../domain/lfp/ageing-data';
import { dataPath } from '../../../io/data/real-data';

describe('degradation cost (domain/arbitrage/degradation)', () => {
  it('is (fade per cycle / end-of-life fade) x replacement cost / 2, checked by hand', () => {
    // 0.05 %-points per cycle, end of life after 20: 400 cycles, each moving 2 kWh per kWh of
    // capacity; 100 EUR/kWh / (2 x 400) = 0.125 EUR per kWh of throughput.
    assert.equal(cyclesToEol({ fadePctPerCycle: 0.05, eolFadePct: 20 }), 400);
    assert.equal(degradationEurPerKwh({ fadePctPerCycle: 0.05, eolFadePct: 20, replacementEurPerKwh: 100 }), 0.125);
  });

  it('reads the end of life off the curve: 20 %-points of fade at cycle 40 is 0.5 per cycle', () => {
    const pts = Array.from({ length: 60 }, (_, i) => ({ cycle: i + 1, capacityPct: 100 - 0.5 * (i + 1) }));
    // Initial 99.5 (cycle 1, the best of the first 5 %); 79.5 is reached at cycle 41.
    assert.equal(fadePerCycle(pts), 20 / 41);
  });

  it('derives from the Severson et al. LFP cell: 20 %-points of fade by cycle 493, 0.152 EUR/kWh at 150 EUR/kWh', () => {
    const pts = parseAgeingCsv(readFileSync(dataPath('severson2019_b2c30_health_fig04.csv'), 'utf8'));
    assert.equal(pts.length, 509);
    const f = fadePerCycle(pts);
    // Best early capacity 98.41 % (cycle 14); first at or below 78.41 %: cycle 493 (78.32 %).
    assert.equal(f, 20 / 493);
    assert.equal(Math.round(cyclesToEol({ fadePctPerCycle: f })), 493);
    const eur = degradationEurPerKwh({ fadePctPerCycle: f });
    assert.equal(eur.toFixed(4), (150 / (2 * 493)).toFixed(4));
  });

  it('refuses data that do not fade', () => {
    assert.throws(() => cyclesToEol({ fadePctPerCycle: 0 }), /positive/);
    assert.throws(() => parseAgeingCsv('a,b\n1,2'), /cycs and q/);
  });
});
