// Modbus RTU timing on a serial line ("MODBUS over Serial Line Specification and Implementation
// Guide V1.02", 2.5.1.1): one character is 1 start bit, the data bits, a parity bit unless none,
// and the stop bits; frames are separated by at least 3.5 character times of silence, a fixed
// 1.75 ms above 19200 baud. Pure arithmetic, shared by the RTU port and the loop benchmark.

export type Parity = 'none' | 'even' | 'odd';

export interface SerialLine {
  baudRate: number;
  parity: Parity;
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

export function bitsPerChar(line: SerialLine): number {
  return 1 + line.dataBits + (line.parity === 'none' ? 0 : 1) + line.stopBits;
}

/** Time on the wire of `bytes` characters, ms. */
export function charsMs(line: SerialLine, bytes: number): number {
  return (bytes * bitsPerChar(line) * 1000) / line.baudRate;
}

/** The silent interval between two frames (t3.5), ms. */
export function interFrameMs(line: SerialLine): number {
  return line.baudRate > 19_200 ? 1.75 : charsMs(line, 3.5);
}

/** Bytes of an RTU read request (unit, FC, address, quantity, CRC) and of its reply. */
export function readFrameBytes(count: number): { request: number; reply: number } {
  return { request: 8, reply: 5 + 2 * count };
}

/** Bytes of an RTU FC16 write request and of its reply. */
export function writeFrameBytes(count: number): { request: number; reply: number } {
  return { request: 9 + 2 * count, reply: 8 };
}

/**
 * The least bus time one request and its reply take: both frames on the wire plus a silent
 * interval after each. A real device adds its own turnaround on top.
 */
export function busTimeMs(line: SerialLine, frame: { request: number; reply: number }): number {
  return charsMs(line, frame.request + frame.reply) + 2 * interFrameMs(line);
}
