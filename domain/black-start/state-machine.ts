// Black start and islanding as a pure state machine: telemetry and the PCS's islanding feedback in,
// the next state, the commands for the PCS / tie / load breakers and the transition log out.
//
//   GRID_CONNECTED -> GRID_LOST    meter voltage or frequency outside the loss band for debounceMs
//   GRID_LOST      -> ISOLATED     the tie and every load breaker reported open
//   ISOLATED       -> GRID_FORMING the PCS reports the island formed (64900 IslSt = ISLANDED)
//   GRID_FORMING   -> PICKUP       after stageDelayMs of an energised, unloaded island
//   PICKUP         -> PICKUP       one load group per stage while power headroom and SoC allow
//   PICKUP         -> ISLANDED     every group considered
//   ISLANDED       -> ISLANDED     shed a group at its SoC reserve or when headroom is gone
//   ISLANDED       -> PICKUP       a shed group fits again (SoC above reserve + hysteresis)
//   any islanded   -> RESYNC       meter within the enter-service window (SunSpec 703) for esDelayMs
//   RESYNC         -> GRID_CONNECTED the PCS follows the grid again and the tie is closed
//   island collapse / SAFE_MODE -> ISOLATED (dark; re-forms when allowed)
//
// Limits: grid-loss detection follows the interface protection of EN 50549-1:2019 4.9.3
// (U< 0.85 Un, U> 1.10 Un, f< 47.5 Hz, f> 51.5 Hz); reconnection follows its 4.10 (85-110 % Un,
// 49.9-50.1 Hz, observed for 60 s), the same quantities as SunSpec 703 ESVLo/ESVHi/ESHzLo/ESHzHi/
// ESDlyTms. Pure: no I/O, time comes in with the input.
import { LOAD_GROUPS, type IslandState, type LoadGroup } from './island-models';

export const PHASES = ['GRID_CONNECTED', 'GRID_LOST', 'ISOLATED', 'GRID_FORMING', 'PICKUP', 'ISLANDED', 'RESYNC'] as const;
export type Phase = (typeof PHASES)[number];

export interface BlackStartConfig {
  nominalV: number;
  nominalHz: number;
  /** Grid-loss band: outside it for debounceMs = grid lost. */
  lossVLoPct: number;
  lossVHiPct: number;
  lossHzLo: number;
  lossHzHi: number;
  debounceMs: number;
  /** Enter-service window and delay (SunSpec 703 ESVLo, ESVHi, ESHzLo, ESHzHi, ESDlyTms). */
  esVLoPct: number;
  esVHiPct: number;
  esHzLo: number;
  esHzHi: number;
  esDelayMs: number;
  /** Wait between pick-up stages and between sheds, ms. */
  stageDelayMs: number;
  /** Share of the power capacity kept free when picking up load, %. */
  headroomPct: number;
  /** SoC reserve: deferrable loads are shed at it, normal loads at normalReservePct. */
  reservePct: number;
  normalReservePct: number;
  /** A group shed for SoC comes back only above its reserve plus this, %. */
  hysteresisPct: number;
  /** Below this SoC the battery does not form an island at all, %. */
  formMinSocPct: number;
  /** A command not confirmed by the PCS's feedback within this time is sent again, ms. */
  commandRetryMs: number;
}

export const DEFAULT_BLACK_START_CONFIG: BlackStartConfig = {
  nominalV: 230,
  nominalHz: 50,
  lossVLoPct: 85,
  lossVHiPct: 110,
  lossHzLo: 47.5,
  lossHzHi: 51.5,
  debounceMs: 500,
  esVLoPct: 85,
  esVHiPct: 110,
  esHzLo: 49.9,
  esHzHi: 50.1,
  esDelayMs: 60_000,
  stageDelayMs: 5_000,
  headroomPct: 10,
  reservePct: 30,
  normalReservePct: 20,
  hysteresisPct: 5,
  formMinSocPct: 10,
  commandRetryMs: 5_000,
};

/** What the PCS reports in vendor model 64900. */
export interface IslandFeedback {
  gridForming: boolean;
  tieClosed: boolean;
  state: IslandState;
  /** Per load group, in LOAD_GROUPS order. */
  breakers: boolean[];
  demandW: number[];
}

export interface BlackStartInput {
  now: number;
  /** Grid side of the tie. */
  meter: { voltage: number | null; frequency: number | null } | null;
  pcs: { power: number; ratedPowerW: number | null; maxDischargeW: number | null } | null;
  battery: { soc: number; dischargePowerMax: number | null } | null;
  island: IslandFeedback | null;
  /** The safety envelope, when the node is given it. */
  envelope: { mode: string; maxDischargeW: number } | null;
}

/** A partial write of the islanding controls (64900 GridForm, Tie, Brk1..3). */
export interface IslandCommand {
  what: string;
  gridForming?: boolean;
  tieClosed?: boolean;
  /** Per group: true close, false open, undefined leave. */
  breakers?: (boolean | undefined)[];
}

export interface Transition {
  ts: number;
  from: Phase;
  to: Phase;
  reason: string;
}

export interface BlackStartState {
  phase: Phase;
  since: number;
  /** When the meter first read outside the loss band, while it still does. */
  outOfBandSince: number | null;
  /** When the meter first read inside the enter-service window, while it still does. */
  inWindowSince: number | null;
  /** Next load group PICKUP considers. */
  stage: number;
  /** Last command or stage, for waits and retries. */
  lastActionAt: number;
}

export const INITIAL_BLACK_START_STATE: BlackStartState = {
  phase: 'GRID_CONNECTED', since: 0, outOfBandSince: null, inWindowSince: null, stage: 0, lastActionAt: 0,
};

export interface BlackStartResult {
  state: BlackStartState;
  commands: IslandCommand[];
  transitions: Transition[];
  /** What the level-2 request should say; null = no request (grid connected). */
  request: { powerW: number; reason: string } | null;
  status: string;
}

const GROUPS = LOAD_GROUPS.length;
const ISOLATE: IslandCommand = { what: 'isolate: open the tie and every load breaker', tieClosed: false, breakers: LOAD_GROUPS.map(() => false) };
const FORM: IslandCommand = { what: 'form the island: GridForm = GRID_FORMING', gridForming: true };
const STOP_FORMING: IslandCommand = { what: 'stop forming: GridForm = GRID_FOLLOWING', gridForming: false };
const SHUTDOWN: IslandCommand = { what: 'stop the island: GridForm = GRID_FOLLOWING, every load breaker open', gridForming: false, breakers: LOAD_GROUPS.map(() => false) };
const RECONNECT: IslandCommand = { what: 'reconnect: GridForm = GRID_FOLLOWING, tie closed', gridForming: false, tieClosed: true };
const RESTORE: IslandCommand = { what: 'restore every load breaker', breakers: LOAD_GROUPS.map(() => true) };

const breaker = (k: number, closed: boolean): IslandCommand => ({
  what: `${closed ? 'close' : 'open'} breaker ${k + 1} (${LOAD_GROUPS[k] ?? '?'})`,
  breakers: LOAD_GROUPS.map((_, i) => (i === k ? closed : undefined)),
});

const kw = (w: number): string => `${(w / 1000).toFixed(2)} kW`;
const fmt = (v: number | null, unit: string, digits: number): string => (v === null ? `no ${unit}` : `${v.toFixed(digits)} ${unit}`);

function within(v: number | null, lo: number, hi: number): boolean {
  return v !== null && Number.isFinite(v) && v >= lo && v <= hi;
}

/** The grid as the meter sees it: lost (outside the loss band), in the enter-service window, or neither. */
function gridView(c: BlackStartConfig, meter: BlackStartInput['meter']): { lost: boolean; inWindow: boolean; text: string } {
  if (!meter) return { lost: false, inWindow: false, text: 'no meter reading' };
  const vOk = within(meter.voltage, (c.nominalV * c.lossVLoPct) / 100, (c.nominalV * c.lossVHiPct) / 100);
  const fOk = within(meter.frequency, c.lossHzLo, c.lossHzHi);
  const inWindow = within(meter.voltage, (c.nominalV * c.esVLoPct) / 100, (c.nominalV * c.esVHiPct) / 100)
    && within(meter.frequency, c.esHzLo, c.esHzHi);
  return { lost: !vOk || !fOk, inWindow, text: `meter ${fmt(meter.voltage, 'V', 1)}, ${fmt(meter.frequency, 'Hz', 2)}` };
}

/** The discharge power the island may draw: the smallest known of the PCS rating, the PCS and BMS limits and the envelope. */
export function islandCapacityW(input: BlackStartInput): number {
  const known = [input.pcs?.ratedPowerW, input.pcs?.maxDischargeW, input.battery?.dischargePowerMax, input.envelope?.maxDischargeW]
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0);
  return known.length ? Math.min(...known) : 0;
}

/** SoC below which a group is shed (critical: never by the controller; the BMS ends it). */
function groupReserve(c: BlackStartConfig, group: LoadGroup): number {
  if (group === 'deferrable') return c.reservePct;
  if (group === 'normal') return c.normalReservePct;
  return c.formMinSocPct;
}

export function stepBlackStart(prev: BlackStartState, input: BlackStartInput, c: BlackStartConfig = DEFAULT_BLACK_START_CONFIG): BlackStartResult {
  const now = input.now;
  const s: BlackStartState = { ...prev };
  const commands: IslandCommand[] = [];
  const transitions: Transition[] = [];
  const fb = input.island;
  const soc = input.battery?.soc ?? null;
  const grid = gridView(c, input.meter);
  const capacity = islandCapacityW(input);
  const usable = capacity * (1 - c.headroomPct / 100);
  const islandW = input.pcs?.power ?? 0;
  const safetyStop = input.envelope !== null && (input.envelope.mode === 'SAFE_MODE' || input.envelope.mode === 'ESTOP');

  const go = (to: Phase, reason: string): void => {
    transitions.push({ ts: now, from: s.phase, to, reason });
    s.phase = to;
    s.since = now;
    s.lastActionAt = now;
  };
  const command = (cmd: IslandCommand): void => {
    commands.push(cmd);
    s.lastActionAt = now;
  };
  const retryDue = (): boolean => now - s.lastActionAt >= c.commandRetryMs;

  // Grid-loss debounce (only meaningful while connected) and the enter-service timer (while not).
  s.outOfBandSince = grid.lost ? (s.outOfBandSince ?? now) : null;
  s.inWindowSince = grid.inWindow ? (s.inWindowSince ?? now) : null;
  const gridStable = s.inWindowSince !== null && now - s.inWindowSince >= c.esDelayMs;

  /** Checks shared by the phases with an island formed; true when they moved the machine. */
  const islandGuards = (): boolean => {
    if (safetyStop) {
      command(SHUTDOWN);
      go('ISOLATED', `${input.envelope?.mode ?? 'SAFE_MODE'}: the battery must stop, so the island goes dark`);
      return true;
    }
    if (gridStable) {
      command(RECONNECT);
      go('RESYNC', `grid back and stable: ${grid.text} within the enter-service window for ${c.esDelayMs / 1000} s`);
      return true;
    }
    if (fb && fb.state !== 'ISLANDED') {
      command(ISOLATE);
      go('ISOLATED', `island lost: the PCS reports ${fb.state} at ${kw(islandW)} (capacity ${kw(capacity)})`);
      return true;
    }
    return false;
  };

  switch (s.phase) {
    case 'GRID_CONNECTED': {
      if (s.outOfBandSince !== null && now - s.outOfBandSince >= c.debounceMs) {
        command(ISOLATE);
        go('GRID_LOST', `grid lost: ${grid.text} outside ${(c.nominalV * c.lossVLoPct) / 100}-${(c.nominalV * c.lossVHiPct) / 100} V / ${c.lossHzLo}-${c.lossHzHi} Hz for ${(now - s.outOfBandSince) / 1000} s`);
      } else if (fb && !fb.tieClosed && !grid.lost) {
        go('ISOLATED', 'the tie is open while the grid is present: the site is not connected');
      }
      break;
    }
    case 'GRID_LOST': {
      if (gridStable) {
        command(RECONNECT);
        go('RESYNC', `grid back before the island formed: ${grid.text} stable for ${c.esDelayMs / 1000} s`);
      } else if (!fb) {
        if (retryDue()) command(ISOLATE);
      } else if (!fb.tieClosed && fb.breakers.every((b) => !b)) {
        go('ISOLATED', 'tie and every load breaker open');
      } else if (retryDue()) {
        command(ISOLATE);
      }
      break;
    }
    case 'ISOLATED': {
      if (gridStable) {
        command(RECONNECT);
        go('RESYNC', `grid back and stable: ${grid.text} within the enter-service window for ${c.esDelayMs / 1000} s`);
      } else if (!fb) {
        // No islanding feedback: nothing can be formed safely.
      } else if (fb.state === 'ISLANDED') {
        go('GRID_FORMING', `the PCS forms the island (no load yet), capacity ${kw(capacity)}`);
      } else if (safetyStop) {
        if (fb.gridForming && retryDue()) command(STOP_FORMING);
      } else if (fb.state === 'COLLAPSED') {
        if (retryDue()) command(STOP_FORMING); // releases the PCS's collapse latch
      } else if (fb.tieClosed || fb.breakers.some((b) => b)) {
        if (retryDue()) command(ISOLATE);
      } else if (soc !== null && soc >= c.formMinSocPct && capacity > 0 && (!fb.gridForming || retryDue())) {
        command(FORM);
      }
      break;
    }
    case 'GRID_FORMING': {
      if (islandGuards()) break;
      if (now - s.since >= c.stageDelayMs) {
        s.stage = 0;
        go('PICKUP', `island stable for ${c.stageDelayMs / 1000} s: picking up load`);
      }
      break;
    }
    case 'PICKUP': {
      if (islandGuards()) break;
      if (now - s.lastActionAt < c.stageDelayMs || !fb) break;
      const skipped: string[] = [];
      let closed = false;
      while (s.stage < GROUPS) {
        const k = s.stage;
        s.stage++;
        const group = LOAD_GROUPS[k] as LoadGroup;
        if (fb.breakers[k]) continue;
        const demand = fb.demandW[k] ?? Infinity;
        const reserve = groupReserve(c, group) + (group === 'critical' ? 0 : c.hysteresisPct);
        if (soc === null || soc < reserve) {
          skipped.push(`${group} (SoC ${soc === null ? '?' : soc.toFixed(1)} % below ${reserve} %)`);
          continue;
        }
        if (islandW + demand > usable) {
          skipped.push(`${group} (${kw(demand)} does not fit: island ${kw(islandW)}, usable ${kw(usable)})`);
          continue;
        }
        command(breaker(k, true));
        transitions.push({
          ts: now, from: 'PICKUP', to: 'PICKUP',
          reason: `stage ${k + 1}/${GROUPS}: closed ${group} (${kw(demand)}; island ${kw(islandW)}, usable ${kw(usable)}, SoC ${soc.toFixed(1)} %)${skipped.length ? `; skipped ${skipped.join(', ')}` : ''}`,
        });
        closed = true;
        break;
      }
      if (!closed && s.stage >= GROUPS) {
        const served = LOAD_GROUPS.filter((_, k) => fb.breakers[k]);
        go('ISLANDED', `pick-up done: ${served.length ? served.join(', ') : 'no group'} served${skipped.length ? `; skipped ${skipped.join(', ')}` : ''}`);
      }
      break;
    }
    case 'ISLANDED': {
      if (islandGuards()) break;
      if (!fb || now - s.lastActionAt < c.stageDelayMs) break;
      // Shed the lowest-priority closed group at its SoC reserve, or when the island nears capacity.
      for (let k = GROUPS - 1; k >= 1; k--) {
        if (!fb.breakers[k]) continue;
        const group = LOAD_GROUPS[k] as LoadGroup;
        const atReserve = soc !== null && soc <= groupReserve(c, group);
        const overloaded = islandW > capacity * (1 - c.headroomPct / 200);
        if (atReserve || overloaded) {
          command(breaker(k, false));
          transitions.push({
            ts: now, from: 'ISLANDED', to: 'ISLANDED',
            reason: atReserve
              ? `shed ${group}: SoC ${soc?.toFixed(1)} % at its reserve ${groupReserve(c, group)} %`
              : `shed ${group}: island ${kw(islandW)} near capacity ${kw(capacity)}`,
          });
          break;
        }
      }
      if (commands.length) break;
      // A shed group comes back when it fits again.
      const back = LOAD_GROUPS.findIndex((g, k) => !fb.breakers[k] && soc !== null
        && soc >= groupReserve(c, g) + (g === 'critical' ? 0 : c.hysteresisPct) && islandW + (fb.demandW[k] ?? Infinity) <= usable);
      if (back >= 0) {
        s.stage = back;
        go('PICKUP', `${LOAD_GROUPS[back] ?? '?'} fits again (SoC ${soc?.toFixed(1)} %, island ${kw(islandW)}, usable ${kw(usable)})`);
        s.lastActionAt = now - c.stageDelayMs; // pick it up at once
      }
      break;
    }
    case 'RESYNC': {
      if (fb && fb.tieClosed && !fb.gridForming && fb.state === 'GRID_CONNECTED') {
        command(RESTORE);
        go('GRID_CONNECTED', `resynchronised: tie closed, PCS grid-following, ${grid.text}; every load restored`);
      } else if (s.outOfBandSince !== null && now - s.outOfBandSince >= c.debounceMs) {
        command(ISOLATE);
        go('GRID_LOST', `grid lost again during resynchronisation: ${grid.text}`);
      } else if (retryDue()) {
        command(RECONNECT);
      }
      break;
    }
  }

  const request = s.phase === 'GRID_CONNECTED' ? null : islandRequest(s.phase, fb, islandW);
  return { state: s, commands, transitions, request, status: statusText(s, fb, islandW, soc, s.inWindowSince === null ? null : now - s.inWindowSince, c) };
}

function islandRequest(phase: Phase, fb: IslandFeedback | null, islandW: number): { powerW: number; reason: string } {
  if (fb?.state === 'ISLANDED') {
    return { powerW: islandW, reason: `black start ${phase}: islanded, the PCS forms the grid and its power follows the island load (WSet is not used)` };
  }
  return { powerW: 0, reason: `black start ${phase}: the site is off the grid and dark` };
}

function statusText(s: BlackStartState, fb: IslandFeedback | null, islandW: number, soc: number | null, inWindowMs: number | null, c: BlackStartConfig): string {
  const socText = soc === null ? '' : ` · SoC ${soc.toFixed(0)} %`;
  const loads = fb ? ` · ${fb.breakers.filter(Boolean).length}/${GROUPS} loads` : '';
  switch (s.phase) {
    case 'GRID_CONNECTED': return 'grid connected';
    case 'PICKUP': return `PICKUP ${Math.min(s.stage, GROUPS)}/${GROUPS} · ${kw(islandW)}${socText}`;
    case 'ISLANDED': {
      const back = inWindowMs === null ? '' : ` · grid back ${(inWindowMs / 1000).toFixed(0)}/${c.esDelayMs / 1000} s`;
      return `ISLANDED · ${kw(islandW)}${loads}${socText}${back}`;
    }
    default: return `${s.phase}${loads}${socText}`;
  }
}
