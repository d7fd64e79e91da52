// Where the simulator keeps its battery's SunSpec 802 points, found the way an integrator would
// (SunSpec discovery on unit 1), and a two-point profile mapping SoC and SoH there: the "device
// without SunSpec" the profile editor tests read.
import { discoverModels } from '../../../domain/sunspec/discovery';
import { decodeModel, pointOffset } from '../../../domain/sunspec/codec';
import { sunspecModel } from '../../../domain/sunspec/model';
import { ModbusTransport } from '../../../io/modbus/transport';

export interface Battery802 {
  /** Address of model 802's ID register on unit 1. */
  modelAddress: number;
  socAddress: number;
  sohAddress: number;
  /** SoC and SoH (%) as the full SunSpec decode gives them at the time of the call. */
  soc: number;
  soh: number;
}

export async function battery802(port: number): Promise<Battery802> {
  const transport = new ModbusTransport({ host: '127.0.0.1', port, timeout: 2000, queueLimit: 10 });
  try {
    const read = (address: number, count: number): Promise<number[]> => transport.readHoldingRegisters(1, address, count);
    const { models } = await discoverModels(read);
    const loc = models.find((m) => m.id === 802);
    if (!loc) throw new Error('simulator battery has no model 802');
    const def = sunspecModel(802)!;
    const decoded = decodeModel(def, await read(loc.address, loc.length + 2), loc.address);
    return {
      modelAddress: loc.address,
      socAddress: loc.address + pointOffset(def, 'SoC'),
      sohAddress: loc.address + pointOffset(def, 'SoH'),
      soc: decoded.root.points.SoC as number,
      soh: decoded.root.points.SoH as number,
    };
  } finally {
    await transport.close(0);
  }
}

/** SoC and SoH mapped as a non-SunSpec device would have them: two registers, fixed scale 10^-1. */
export function socSohProfile(b: Battery802, name = 'Simulator battery (SoC, SoH)'): Record<string, unknown> {
  return {
    name, kind: 'battery',
    blocks: [{
      model: 802, address: b.socAddress, function: 'holding',
      points: [
        { name: 'SoC', type: 'uint16', size: 1, sf: -1, units: '%' },
        { name: 'DoD', type: 'pad', size: b.sohAddress - b.socAddress - 1 },
        { name: 'SoH', type: 'uint16', size: 1, sf: -1, units: '%' },
      ],
    }],
  };
}
