// The black-start state machine driven by scripted telemetry. The PCS's islanding feedback (vendor
// model 64900) is scripted too: a command shows up in the feedback only when the script says the
// PCS carried it out, so every transition here is caused by what a reading said.
import assert from 'node:assert/strict';
import {
  DEFAULT_BLACK_START_CONFIG, INITIAL_BLACK_START_STATE, stepBlackStart,
  type BlackStartConfig, type BlackStartInput, type BlackStartResult, type BlackStartState, type IslandCommand, type IslandFeedback,
} from '../../../domain/black-start/state-machine';

const C: BlackStartConfig = { ...DEFAULT_BLACK_START_CONFIG, debounceMs: 500, stageDelayMs: 2000, esDelayMs: 10_000, commandRetryMs: 3000 };
const GRID = { voltage: 230, frequency: 50 };
const DEAD = { voltage: 0, frequency: 0 };

/** A scripted site: the readings the machine sees, and the PCS carrying out its commands when told to. */
class Script {
  now = 1_000_000;
  state: BlackStartState = INITIAL_BLACK_START_STATE;
  meter: BlackStartInput['meter'] = GRID;
  soc = 80;
  islandW = 0;
  envelope: BlackStartInput['envelope'] = null;
  fb: IslandFeedback = { gridForming: false, tieClosed: true, state: 'GRID_CONNECTED', breakers: [true, true, true], demandW: [600, 900, 500] };
  log: BlackStartResult['transitions'] = [];
  sent: IslandCommand[] = [];
  last!: BlackStartResult;
  constructor(readonly config: BlackStartConfig = C) {}

  step(dtMs = 100): BlackStartResult {
    this.now += dtMs;
    this.last = stepBlackStart(this.state, {
      now: this.now,
      meter: this.meter,
      pcs: { power: this.islandW, ratedPowerW: 5000, maxDischargeW: 5000 },
      battery: { soc: this.soc, dischargePowerMax: 5000 },
      island: { ...this.fb, breakers: [...this.fb.breakers] },
      envelope: this.envelope,
    }, this.config);
    this.state = this.last.state;
    this.log.push(...this.last.transitions);
    this.sent.push(...this.last.commands);
    return this.last;
  }

  /** Step for `ms` in steps of dtMs. */
  run(ms: number, dtMs = 100): void {
    for (let t = 0; t < ms; t += dtMs) this.step(dtMs);
  }

  /** The PCS carries out every command sent so far; the island's power follows the closed breakers. */
  obey(): void {
    for (const cmd of this.sent) {
      if (cmd.gridForming !== undefined) this.fb.gridForming = cmd.gridForming;
      if (cmd.tieClosed !== undefined) this.fb.tieClosed = cmd.tieClosed;
      cmd.breakers?.forEach((b, k) => { if (b !== undefined) this.fb.breakers[k] = b; });
    }
    this.sent = [];
    const gridUp = this.meter !== null && (this.meter.voltage ?? 0) > 100;
    this.fb.state = this.fb.tieClosed && gridUp ? 'GRID_CONNECTED' : this.fb.gridForming && !this.fb.tieClosed ? 'ISLANDED' : 'DARK';
    this.islandW = this.fb.state === 'ISLANDED' ? this.fb.breakers.reduce((w, b, k) => w + (b ? (this.fb.demandW[k] ?? 0) : 0), 0) : 0;
  }

  /** Step and obey until the phase is `phase` (or fail after `ms`). */
  until(phase: BlackStartState['phase'], ms = 120_000): void {
    for (let t = 0; t < ms; t += 100) {
      this.step();
      this.obey();
      if (this.state.phase === phase) return;
    }
    assert.fail(`never reached ${phase}; stuck in ${this.state.phase}: ${JSON.stringify(this.log.slice(-3))}`);
  }

  phases(): string[] {
    return this.log.map((t) => t.to);
  }
}

/** A site islanded with every load group picked up. */
function islanded(config: BlackStartConfig = C): Script {
  const s = new Script(config);
  s.step();
  s.meter = DEAD;
  s.until('ISLANDED');
  return s;
}

describe('black-start state machine', () => {
  describe('grid-loss detection', () => {
    it('stays GRID_CONNECTED and asks for nothing while the meter reads a healthy grid', () => {
      const s = new Script();
      s.run(10_000);
      assert.equal(s.state.phase, 'GRID_CONNECTED');
      assert.equal(s.last.request, null);
      assert.deepEqual(s.log, []);
      assert.equal(s.last.status, 'grid connected');
    });

    it('declares GRID_LOST only after the voltage stays out of band for the debounce time, and isolates', () => {
      const s = new Script();
      s.meter = { voltage: 150, frequency: 50 };
      s.run(400);
      assert.equal(s.state.phase, 'GRID_CONNECTED', 'not before the debounce time');
      s.run(200);
      assert.equal(s.state.phase, 'GRID_LOST');
      assert.match(s.log[0]?.reason ?? '', /150\.0 V.*outside 195\.5-253 V/);
      assert.deepEqual(s.last.commands.length ? s.last.commands : s.sent.slice(-1), [
        { what: 'isolate: open the tie and every load breaker', tieClosed: false, breakers: [false, false, false] },
      ]);
    });

    it('restarts the debounce when the grid recovers in between (a voltage dip is not a loss)', () => {
      const s = new Script();
      for (let k = 0; k < 5; k++) {
        s.meter = DEAD;
        s.run(400);
        s.meter = GRID;
        s.run(100);
      }
      assert.equal(s.state.phase, 'GRID_CONNECTED');
    });

    it('detects a frequency out of band at nominal voltage', () => {
      const s = new Script();
      s.meter = { voltage: 230, frequency: 47.0 };
      s.run(600);
      assert.equal(s.state.phase, 'GRID_LOST');
      assert.match(s.log[0]?.reason ?? '', /47\.00 Hz/);
    });

    it('does not call a missing meter reading a grid loss', () => {
      const s = new Script();
      s.meter = null;
      s.run(5000);
      assert.equal(s.state.phase, 'GRID_CONNECTED');
    });
  });

  describe('isolation, forming and pick-up', () => {
    it('goes GRID_LOST -> ISOLATED -> GRID_FORMING -> PICKUP -> ISLANDED, logging each transition with a reason', () => {
      const s = islanded();
      assert.deepEqual(s.phases(), ['GRID_LOST', 'ISOLATED', 'GRID_FORMING', 'PICKUP', 'PICKUP', 'PICKUP', 'PICKUP', 'ISLANDED']);
      for (const t of s.log) {
        assert.ok(t.reason.length > 10, `a reason for ${t.to}`);
        assert.ok(t.ts > 1_000_000);
      }
      assert.deepEqual(s.fb.breakers, [true, true, true]);
      assert.equal(s.fb.gridForming, true);
      assert.equal(s.fb.tieClosed, false);
      assert.match(s.last.status, /^ISLANDED · 2\.00 kW · 3\/3 loads · SoC 80 %/);
    });

    it('does not form the island before the tie and every breaker are reported open', () => {
      const s = new Script();
      s.meter = DEAD;
      s.run(5000); // commands sent, never carried out
      assert.equal(s.state.phase, 'GRID_LOST');
      assert.ok(!s.sent.some((c) => c.gridForming === true));
      assert.ok(s.sent.filter((c) => c.tieClosed === false).length >= 2, 'the isolate command is retried');
    });

    it('picks up one group per stage, critical first, waiting the stage delay between them', () => {
      const s = new Script();
      s.meter = DEAD;
      s.until('PICKUP');
      const closedAt: number[] = [];
      for (let t = 0; t < 20_000 && s.state.phase !== 'ISLANDED'; t += 100) {
        const before = s.fb.breakers.filter(Boolean).length;
        s.step();
        s.obey();
        if (s.fb.breakers.filter(Boolean).length > before) closedAt.push(s.now);
      }
      assert.equal(closedAt.length, 3);
      assert.ok((closedAt[1] ?? 0) - (closedAt[0] ?? 0) >= C.stageDelayMs);
      assert.ok((closedAt[2] ?? 0) - (closedAt[1] ?? 0) >= C.stageDelayMs);
      const stages = s.log.filter((t) => t.from === 'PICKUP' && t.to === 'PICKUP').map((t) => t.reason);
      assert.match(stages[0] ?? '', /stage 1\/3: closed critical/);
      assert.match(stages[1] ?? '', /stage 2\/3: closed normal/);
      assert.match(stages[2] ?? '', /stage 3\/3: closed deferrable/);
    });

    it('skips a group that does not fit the power headroom and still picks up the smaller one after it', () => {
      const s = new Script();
      s.fb.demandW = [1500, 3500, 800]; // usable = 90 % of 5 kW = 4.5 kW
      s.meter = DEAD;
      s.until('ISLANDED');
      assert.deepEqual(s.fb.breakers, [true, false, true]);
      assert.ok(s.log.some((t) => /normal \(3\.50 kW does not fit: island 1\.50 kW, usable 4\.50 kW\)/.test(t.reason)));
      assert.ok(s.islandW <= 4500);
    });

    it('uses the smallest of the PCS rating, the BMS limit and the safety envelope as capacity', () => {
      const s = new Script();
      s.envelope = { mode: 'DERATED', maxDischargeW: 1000 };
      s.meter = DEAD;
      s.until('ISLANDED');
      // usable = 90 % of the envelope's 1 kW: critical (600 W) fits, 600 + 900 and 600 + 500 do not.
      assert.deepEqual(s.fb.breakers, [true, false, false]);
      assert.match(s.log.find((t) => t.to === 'ISLANDED')?.reason ?? '', /skipped normal .*deferrable \(0\.50 kW does not fit/);
    });

    it('leaves deferrable loads shed when the SoC is below the reserve plus hysteresis, and critical ones on', () => {
      const s = new Script();
      s.soc = 32;
      s.meter = DEAD;
      s.until('ISLANDED');
      assert.deepEqual(s.fb.breakers, [true, true, false]);
    });

    it('does not form an island at all below the minimum SoC, and the site stays dark', () => {
      const s = new Script();
      s.soc = 5;
      s.meter = DEAD;
      s.until('ISOLATED');
      s.run(30_000);
      s.obey();
      assert.equal(s.state.phase, 'ISOLATED');
      assert.equal(s.fb.gridForming, false);
      assert.deepEqual(s.last.request, { powerW: 0, reason: 'black start ISOLATED: the site is off the grid and dark' });
    });
  });

  describe('holding the reserve while islanded', () => {
    it('sheds deferrable at the reserve, normal at the normal reserve, and never critical', () => {
      const s = islanded();
      s.soc = 30;
      s.run(C.stageDelayMs + 100);
      s.obey();
      assert.deepEqual(s.fb.breakers, [true, true, false]);
      assert.match(s.log.at(-1)?.reason ?? '', /shed deferrable: SoC 30\.0 % at its reserve 30 %/);
      s.soc = 19;
      s.run(C.stageDelayMs + 100);
      s.obey();
      assert.deepEqual(s.fb.breakers, [true, false, false]);
      s.soc = 11;
      s.run(3 * C.stageDelayMs);
      s.obey();
      assert.deepEqual(s.fb.breakers, [true, false, false]);
      assert.equal(s.state.phase, 'ISLANDED');
    });

    it('picks a shed group up again only above its reserve plus hysteresis', () => {
      const s = islanded();
      s.soc = 29;
      s.run(C.stageDelayMs + 100);
      s.obey();
      assert.equal(s.fb.breakers[2], false);
      s.soc = 33; // reserve 30 + hysteresis 5 = 35
      s.run(3 * C.stageDelayMs);
      s.obey();
      assert.equal(s.fb.breakers[2], false);
      s.soc = 36;
      s.until('ISLANDED', 3 * C.stageDelayMs);
      s.run(C.stageDelayMs + 200);
      s.obey();
      assert.equal(s.fb.breakers[2], true);
      assert.ok(s.log.some((t) => t.to === 'PICKUP' && /deferrable fits again/.test(t.reason)));
    });
  });

  describe('resynchronisation', () => {
    it('resynchronises only after the grid stayed in the enter-service window for the delay, then restores every load', () => {
      const s = islanded();
      s.meter = GRID;
      s.run(C.esDelayMs - 500);
      assert.equal(s.state.phase, 'ISLANDED', 'not before the delay');
      assert.match(s.last.status, /grid back 9\/10 s/);
      s.until('RESYNC', 1000);
      assert.ok(s.fb.tieClosed && !s.fb.gridForming, 'tie closed and grid-following');
      s.until('GRID_CONNECTED', 1000);
      s.step();
      s.obey();
      assert.deepEqual(s.fb.breakers, [true, true, true]);
      assert.deepEqual(s.phases().slice(-2), ['RESYNC', 'GRID_CONNECTED']);
      assert.equal(s.last.request, null);
    });

    it('does not resynchronise early on a flapping grid: every excursion restarts the delay', () => {
      const s = islanded();
      for (let k = 0; k < 6; k++) {
        s.meter = GRID;
        s.run(C.esDelayMs - 1000);
        s.meter = { voltage: 230, frequency: 50.3 }; // outside 49.9-50.1 Hz
        s.run(300);
      }
      assert.equal(s.state.phase, 'ISLANDED');
      assert.ok(!s.sent.some((c) => c.tieClosed === true));
      s.meter = GRID;
      s.until('GRID_CONNECTED', C.esDelayMs + 2000);
    });

    it('goes back to GRID_LOST when the grid fails again during resynchronisation', () => {
      const s = islanded();
      s.meter = GRID;
      s.run(C.esDelayMs + 200);
      assert.equal(s.state.phase, 'RESYNC');
      s.meter = DEAD;
      s.run(600);
      assert.equal(s.state.phase, 'GRID_LOST');
    });
  });

  describe('collapse and safety', () => {
    it('treats a collapsed island as lost: isolates, releases the PCS latch and forms again', () => {
      const s = islanded();
      s.fb.state = 'COLLAPSED';
      s.islandW = 0;
      s.step();
      assert.equal(s.state.phase, 'ISOLATED');
      assert.match(s.log.at(-1)?.reason ?? '', /island lost: the PCS reports COLLAPSED/);
      s.fb.breakers = [false, false, false];
      s.run(C.commandRetryMs + 100);
      assert.ok(s.sent.some((c) => c.gridForming === false), 'GridForm = GRID_FOLLOWING releases the collapse');
      s.until('ISLANDED');
    });

    it('stops the island when the safety envelope says SAFE_MODE, and does not form again while it lasts', () => {
      const s = islanded();
      s.envelope = { mode: 'SAFE_MODE', maxDischargeW: 0 };
      s.step();
      assert.equal(s.state.phase, 'ISOLATED');
      assert.deepEqual(s.last.commands[0], { what: 'stop the island: GridForm = GRID_FOLLOWING, every load breaker open', gridForming: false, breakers: [false, false, false] });
      s.obey();
      s.run(20_000);
      s.obey();
      assert.equal(s.fb.gridForming, false);
      assert.equal(s.state.phase, 'ISOLATED');
      s.envelope = { mode: 'NORMAL', maxDischargeW: 5000 };
      s.until('ISLANDED');
    });
  });

  describe('the level-2 request', () => {
    it('reports the island power the PCS delivers while islanded, and 0 W while the site is dark', () => {
      const s = new Script();
      s.meter = DEAD;
      s.run(600);
      assert.deepEqual(s.last.request, { powerW: 0, reason: 'black start GRID_LOST: the site is off the grid and dark' });
      s.until('ISLANDED');
      s.step();
      assert.equal(s.last.request?.powerW, 2000);
      assert.match(s.last.request?.reason ?? '', /WSet is not used/);
    });
  });
});
