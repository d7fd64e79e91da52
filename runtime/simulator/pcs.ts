// The power conversion system: a bidirectional inverter that follows the SunSpec 704 active-power
// setpoint (WSet or WSetPct) with a ramp, within its own rating and the BMS's current limits,
// with a load-dependent efficiency, and with the 704 revert timer: every write of the setpoint
// restarts WSetRvrtTms; when it runs out the PCS goes back to WSetRvrt / WSetEnaRvrt (0 W, disabled
// by default), so a dead controller cannot leave the battery running.
//
// Efficiency follows the usual inverter loss model (e.g. Schmidt and Sauer, "Wirkungsgrad-Modellierung
// von PV-Wechselrichtern", 1996; the basis of most European efficiency figures):
//   P_loss = P_rated (l0 + l1 p + l2 p^2), p = |P_ac| / P_rated
// a no-load loss, a linear (switching) and a quadratic (conduction) term. With the defaults below
// the curve is about 79 % at 2 % load, 94 % at 10 %, 97 % at 40 % and 96.6 % at full load.

export interface PcsConfig {
  ratedW: number;
  lossNoLoad: number;
  lossLinear: number;
  lossQuadratic: number;
  /** Drawn from the battery while idle (control electronics), W. */
  standbyW: number;
  /** Default ramp rate, % of WMax per second (704 WRmp). */
  rampPctPerS: number;
  /** Default revert time, s (704 WSetRvrtTms); 0 = no revert. */
  revertS: number;
  phases: 1 | 3;
  /** Line-to-neutral voltage, V, and frequency, Hz, of the grid. */
  voltageLN: number;
  frequencyHz: number;
}

export const PCS_STATES = ['OFF', 'SLEEPING', 'STARTING', 'RUNNING', 'THROTTLED', 'SHUTTING_DOWN', 'FAULT', 'STANDBY'] as const;
export type PcsStateName = (typeof PCS_STATES)[number];

/** The writable controls, as SunSpec 704 and 702 hold them (engineering units). */
export interface PcsControls {
  wSetEna: boolean;
  /** 704 WSetMod: WATTS uses wSet, W_MAX_PCT uses wSetPct. */
  wSetMod: 'WATTS' | 'W_MAX_PCT';
  wSet: number;
  wSetPct: number;
  wSetRvrt: number;
  wSetPctRvrt: number;
  wSetEnaRvrt: boolean;
  /** Revert time, s; 0 = never revert. */
  wSetRvrtTms: number;
  /** Ramp, % of WMax per second; 0 = no ramp limit. */
  wRmp: number;
  /** 702 WMax, WChaRteMax, WDisChaRteMax: limits at or below the rating. */
  wMax: number;
  wChaRteMax: number;
  wDisChaRteMax: number;
}

/** What the battery side allows this step (DC power at the pack terminals, W, both >= 0). */
export interface DcLimits {
  chargeW: number;
  dischargeW: number;
}

export class Pcs {
  readonly config: PcsConfig;
  controls: PcsControls;
  /** Revert time left, s; 0 when no revert is pending. */
  revertRemainingS = 0;
  /** AC power, W, + = discharging into the site. */
  acPower = 0;
  /** DC power at the battery terminals, W, + = taken from the battery. */
  dcPower = 0;
  /** The setpoint the PCS aims for after ramp and before the limits of this step, W. */
  target = 0;
  state: PcsStateName = 'STANDBY';
  throttled = false;
  fault = false;
  gridConnected = true;
  dcConnected = true;
  /** Commanded grid-forming (vendor model 64900 GridForm); takes effect only on an islanded bus. */
  forming = false;
  energyInjectedWh = 0;
  energyAbsorbedWh = 0;

  constructor(config: PcsConfig) {
    this.config = config;
    this.controls = {
      wSetEna: false,
      wSetMod: 'WATTS',
      wSet: 0,
      wSetPct: 0,
      wSetRvrt: 0,
      wSetPctRvrt: 0,
      wSetEnaRvrt: false,
      wSetRvrtTms: config.revertS,
      wRmp: config.rampPctPerS,
      wMax: config.ratedW,
      wChaRteMax: config.ratedW,
      wDisChaRteMax: config.ratedW,
    };
  }

  /**
   * Apply written controls. A write of the setpoint (WSet, WSetPct) or of WSetEna restarts the
   * revert timer, as does a write of WSetRvrtTms itself.
   */
  write(changes: Partial<PcsControls>): void {
    this.controls = { ...this.controls, ...changes };
    const c = this.controls;
    c.wMax = clamp(c.wMax, 0, this.config.ratedW);
    c.wChaRteMax = clamp(c.wChaRteMax, 0, this.config.ratedW);
    c.wDisChaRteMax = clamp(c.wDisChaRteMax, 0, this.config.ratedW);
    const touchesSetpoint = ['wSet', 'wSetPct', 'wSetEna', 'wSetRvrtTms'].some((k) => k in changes);
    if (touchesSetpoint) this.revertRemainingS = c.wSetRvrtTms > 0 ? c.wSetRvrtTms : 0;
  }

  /** Loss at an AC power, W (no-load loss included while running). */
  lossW(acW: number): number {
    const r = this.config.ratedW;
    const p = Math.min(1.5, Math.abs(acW) / r);
    if (p === 0) return 0;
    return r * (this.config.lossNoLoad + this.config.lossLinear * p + this.config.lossQuadratic * p * p);
  }

  /** Conversion efficiency at an AC power, 0..1: AC out / DC in when discharging, DC in / AC in when charging. */
  efficiency(acW: number): number {
    const a = Math.abs(acW);
    if (a === 0) return 0;
    const loss = this.lossW(a);
    return acW > 0 ? a / (a + loss) : Math.max(0, a - loss) / a;
  }

  /** DC power (+ = from the battery) for an AC power (+ = to the site). */
  dcFor(acW: number): number {
    return acW === 0 ? 0 : acW + this.lossW(acW);
  }

  /** The setpoint asked for by the controls, W, + = discharge. */
  requested(): number {
    const c = this.controls;
    if (!c.wSetEna) return 0;
    return c.wSetMod === 'WATTS' ? c.wSet : (c.wSetPct / 100) * c.wMax;
  }

  /** Largest AC power for each direction that keeps DC within the limits, idle threshold included. */
  private acLimits(dc: DcLimits): { charge: number; discharge: number } {
    let { charge, discharge } = this.converterLimits(dc);
    // Below its no-load loss the converter would mostly heat itself: it does not run at all.
    const minW = this.config.lossNoLoad * this.config.ratedW;
    if (charge - this.lossW(charge) < minW) charge = 0;
    if (discharge < minW) discharge = 0;
    return { charge, discharge };
  }

  /** Largest AC power for each direction that keeps DC within the limits (a few fixed-point steps). */
  private converterLimits(dc: DcLimits): { charge: number; discharge: number } {
    const c = this.controls;
    const dischargeCap = Math.min(c.wMax, c.wDisChaRteMax);
    const chargeCap = Math.min(c.wMax, c.wChaRteMax);
    // Fixed point of ac = dc - loss(ac) (discharge) and ac = dc + loss(ac) (charge); the loss
    // changes slowly with power, so a few iterations converge to well under a watt.
    let discharge = Math.max(0, Math.min(dischargeCap, dc.dischargeW));
    for (let k = 0; k < 6; k++) discharge = Math.min(dischargeCap, Math.max(0, dc.dischargeW - this.lossW(discharge)));
    let charge = Math.max(0, Math.min(chargeCap, dc.chargeW));
    for (let k = 0; k < 6; k++) charge = Math.min(chargeCap, Math.max(0, dc.chargeW + this.lossW(charge)));
    return { charge, discharge };
  }

  /**
   * One step as the grid-forming source of an island: the PCS holds voltage and frequency and its
   * power is whatever the island needs (netDemandW = served load - PV, + = discharge), not WSet.
   * PV beyond what the battery may absorb is curtailed (the PV inverters' frequency-watt response,
   * EN 50549-1 4.6.1); demand beyond what the PCS and the BMS allow cannot be held: the island
   * collapses (an overload trip). Returns false on collapse, with the PCS at 0 W.
   */
  stepForming(dtS: number, netDemandW: number, dc: DcLimits): boolean {
    const lim = this.converterLimits(this.dcConnected ? dc : { chargeW: 0, dischargeW: 0 });
    if (this.fault || !this.dcConnected || netDemandW > lim.discharge) {
      this.acPower = 0;
      this.dcPower = 0;
      this.target = 0;
      this.throttled = false;
      this.state = 'FAULT';
      return false;
    }
    const ac = Math.max(netDemandW, -lim.charge);
    this.acPower = ac;
    this.target = ac;
    this.throttled = ac !== netDemandW;
    // A forming converter runs even unloaded: it draws at least its no-load loss.
    this.dcPower = ac === 0 ? this.config.lossNoLoad * this.config.ratedW : this.dcFor(ac);
    if (ac > 0) this.energyInjectedWh += (ac * dtS) / 3600;
    else this.energyAbsorbedWh += (-ac * dtS) / 3600;
    this.state = this.throttled ? 'THROTTLED' : 'RUNNING';
    return true;
  }

  /** Island frequency under the forming PCS's P-f droop (1 % at rated discharge), Hz. */
  islandFrequency(): number {
    return this.config.frequencyHz * (1 - (0.01 * this.acPower) / this.config.ratedW);
  }

  /**
   * `revertDtS`: the wall-clock seconds the step stands for. The revert timer is the PCS's watchdog
   * on its controller, and the controller runs on the wall clock whatever the simulator's speed: at
   * --speed 60 a 5 s timer counted in simulated seconds would expire between two 1 Hz heartbeats.
   */
  step(dtS: number, dc: DcLimits, revertDtS = dtS): void {
    if (this.revertRemainingS > 0) {
      this.revertRemainingS = Math.max(0, this.revertRemainingS - revertDtS);
      if (this.revertRemainingS === 0) {
        const c = this.controls;
        c.wSet = c.wSetRvrt;
        c.wSetPct = c.wSetPctRvrt;
        c.wSetEna = c.wSetEnaRvrt;
      }
    }
    const wanted = this.requested();
    if (this.fault || !this.gridConnected) {
      // A fault or a lost grid trips the inverter at once (anti-islanding, IEEE 1547 / VDE-AR-N 4105).
      this.acPower = 0;
      this.dcPower = 0;
      this.target = 0;
      this.throttled = false;
      this.state = this.fault ? 'FAULT' : 'STANDBY';
      return;
    }
    const lim = this.acLimits(this.dcConnected ? dc : { chargeW: 0, dischargeW: 0 });
    const ramp = this.controls.wRmp > 0 ? (this.controls.wRmp / 100) * this.controls.wMax * dtS : Infinity;
    this.target = wanted;
    let next = this.acPower + clamp(wanted - this.acPower, -ramp, ramp);
    // Limits act at once, not through the ramp: the BMS's current limit is not negotiable.
    const clamped = clamp(next, -lim.charge, lim.discharge);
    this.throttled = clamped !== next || clamp(wanted, -lim.charge, lim.discharge) !== wanted;
    next = clamped;
    if (Math.abs(next) < 1e-6) next = 0;
    this.acPower = next;
    this.dcPower = next === 0 ? (this.dcConnected ? this.config.standbyW : 0) : this.dcFor(next);
    if (next > 0) this.energyInjectedWh += (next * dtS) / 3600;
    else this.energyAbsorbedWh += (-next * dtS) / 3600;
    this.state = next === 0 && wanted === 0 ? 'STANDBY' : this.throttled ? 'THROTTLED' : 'RUNNING';
  }

  /** AC current per phase, A. */
  get currentA(): number {
    return this.acPower / (this.config.voltageLN * this.config.phases);
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
