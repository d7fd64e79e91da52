// Types for modbus-serial's CRC-16 helper (the Modbus RTU CRC, polynomial 0xA001), which ships none.
declare module 'modbus-serial/utils/crc16' {
  function crc16(buffer: Buffer): number;
  export = crc16;
}
