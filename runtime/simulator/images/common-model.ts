// SunSpec model 1 (Common), the nameplate every simulated unit starts its chain with.
import { builtInModel, type ModelSpec } from './image';

/** What the nameplates carry of the simulator run: its seed (in the serial numbers) and version. */
export interface DeviceInfo {
  seed: number;
  version: string;
}

/** Model 1 of Modbus unit `unit`: model name `md`, options `opt` (the site kind). */
export function commonModel(unit: number, md: string, info: DeviceInfo, opt: string): ModelSpec {
  return {
    def: builtInModel(1),
    values: () => ({
      points: { Mn: 'LiFePO4 EMS', Md: md, Opt: opt, Vr: info.version, SN: `SIM-${info.seed}-U${unit}`, DA: unit },
    }),
  };
}
