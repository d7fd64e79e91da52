// The site's load net of PV, kW: what the grid meter measures plus what the battery's PCS delivers
// (+ = discharging), the quantity the arbitrage LP, peak shaving and the load forecast plan with.
// The device nodes send their parts apart (flows/edge.json), so a meter reading pairs with the
// PCS's latest power, not with none.
import type { Telemetry } from '../contracts';

export class NetLoad {
  #pcsW = 0;

  /** Takes a telemetry part; returns the net load of its meter reading, kW, or undefined without one. */
  update(t: Pick<Telemetry, 'meter' | 'pcs'>): number | undefined {
    if (t.pcs) this.#pcsW = t.pcs.power;
    return t.meter ? (t.meter.power + this.#pcsW) / 1000 : undefined;
  }
}
