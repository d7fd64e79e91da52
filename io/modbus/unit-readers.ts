// The register readers of one unit on a shared transport, in the shape the SunSpec reading code of
// domain/sunspec takes (address, count) -> registers: FC 3 (holding, where SunSpec devices serve
// their models) and FC 4 (input, used by some vendor profiles).
import type { ReadRegisters } from '../../domain/sunspec/discovery';
import type { ModbusTransport } from './transport';

export function unitReaders(transport: Pick<ModbusTransport, 'readHoldingRegisters' | 'readInputRegisters'>, unit: number): Record<'holding' | 'input', ReadRegisters> {
  return {
    holding: (address, count) => transport.readHoldingRegisters(unit, address, count),
    input: (address, count) => transport.readInputRegisters(unit, address, count),
  };
}
