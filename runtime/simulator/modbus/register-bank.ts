// What a Modbus server serves for one unit id: a bank of 16-bit holding registers. The simulator's
// devices implement it; the TCP server in tcp-server.ts only frames requests and replies.

/** Modbus exception codes (Modbus Application Protocol V1.1b3, section 7). */
export const ModbusExceptionCode = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SERVER_DEVICE_FAILURE: 0x04,
  SERVER_DEVICE_BUSY: 0x06,
  GATEWAY_TARGET_FAILED: 0x0b,
} as const;
export type ModbusExceptionCode = (typeof ModbusExceptionCode)[keyof typeof ModbusExceptionCode];

/** Thrown by a RegisterBank to make the server answer with a Modbus exception response. */
export class ModbusException extends Error {
  override name = 'ModbusException';
  constructor(
    readonly code: ModbusExceptionCode,
    message: string,
  ) {
    super(message);
  }
}

export interface RegisterBank {
  /** Function codes 3 and 4. Throw ModbusException(ILLEGAL_DATA_ADDRESS) outside the map. */
  readRegisters(address: number, count: number): ArrayLike<number>;
  /** Function codes 6 and 16. Throw ModbusException for read-only or unmapped registers or bad values. */
  writeRegisters(address: number, values: readonly number[]): void;
}
