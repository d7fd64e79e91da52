// Requests per second one Modbus TCP connection gets from a server, one request in flight at a
// time as a control loop polls: our lean server against modbus-serial's ServerTCP, and a raw TCP
// echo on the same loopback as the floor no Modbus server can beat on this machine.
// Run: npm run bench -- modbus-server [seconds-per-server]
import net from 'node:net';
import { ServerTCP } from 'modbus-serial';
import type { RegisterBank } from '../runtime/simulator/modbus/register-bank';
import { ModbusTcpServer } from '../runtime/simulator/modbus/tcp-server';

const seconds = Number(process.argv[2] ?? 2);
const QUANTITY = 125;
const registers = Array.from({ length: 200 }, (_, i) => i);
const bank: RegisterBank = {
  readRegisters: (address, count) => registers.slice(address, address + count),
  writeRegisters: () => undefined,
};

/** FC3 read of QUANTITY registers at 0, unit 1. */
function request(tid: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(tid & 0xffff, 0);
  b.writeUInt16BE(0, 2);
  b.writeUInt16BE(6, 4);
  b.writeUInt8(1, 6);
  b.writeUInt8(3, 7);
  b.writeUInt16BE(0, 8);
  b.writeUInt16BE(QUANTITY, 10);
  return b;
}

/** Sequential request/response round trips for `ms`; a reply is complete at `replyBytes`. */
function roundTrips(port: number, replyBytes: number, ms: number, payload: (i: number) => Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    let n = 0;
    let got = 0;
    let deadline = 0;
    sock.on('error', reject);
    sock.on('connect', () => {
      deadline = performance.now() + ms;
      sock.write(payload(n));
    });
    sock.on('data', (chunk) => {
      got += chunk.length;
      while (got >= replyBytes) {
        got -= replyBytes;
        n++;
        if (performance.now() >= deadline) {
          sock.destroy();
          resolve(n / (ms / 1000));
          return;
        }
        sock.write(payload(n));
      }
    });
  });
}

async function measureOurs(ms: number): Promise<number> {
  const server = new ModbusTcpServer({ port: 0, units: new Map([[1, bank]]) });
  const port = await server.listen();
  try {
    await roundTrips(port, 9 + QUANTITY * 2, 300, request);
    return await roundTrips(port, 9 + QUANTITY * 2, ms, request);
  } finally {
    await server.close();
  }
}

async function measureModbusSerial(ms: number): Promise<number> {
  const port = await freePort();
  const server = new ServerTCP(
    { getMultipleHoldingRegisters: (address: number, length: number) => registers.slice(address, address + length) },
    { host: '127.0.0.1', port, unitID: 1 },
  );
  await new Promise<void>((resolve) => server.on('initialized', () => resolve()));
  try {
    await roundTrips(port, 9 + QUANTITY * 2, 300, request);
    return await roundTrips(port, 9 + QUANTITY * 2, ms, request);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function measureEchoFloor(ms: number): Promise<number> {
  const server = net.createServer((s) => { s.setNoDelay(true); s.on('data', (d) => s.write(d)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    return await roundTrips(port, 12, ms, request);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  const ms = seconds * 1000;
  const floor = await measureEchoFloor(ms);
  const ours = await measureOurs(ms);
  const modbusSerial = await measureModbusSerial(ms);
  console.log(JSON.stringify({
    bench: 'modbus-server',
    registersPerRead: QUANTITY,
    secondsEach: seconds,
    oursRequestsPerS: Math.round(ours),
    modbusSerialServerTcpRequestsPerS: Math.round(modbusSerial),
    tcpEchoFloorRequestsPerS: Math.round(floor),
    speedupOverModbusSerial: Number((ours / modbusSerial).toFixed(1)),
    fractionOfEchoFloor: Number((ours / floor).toFixed(2)),
  }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
