// One Modbus connection shared by every device node on the same bus: Modbus TCP to host:port,
// Modbus RTU on a serial port (an RS-485 adapter; every unit on the bus shares this one queue),
// or RTU frames over TCP to a serial-to-Ethernet gateway. Only how bytes reach the wire differs:
// the queue, timeouts and backoff below are the same for all three.
//
// What node-red-contrib-modbus is known to get wrong, and what this class does instead:
// - one request in flight per connection (a Modbus TCP server may answer out of order or not
//   at all when pipelined; many gateways serialise anyway), writes ahead of reads;
// - a timeout per request, started when the request goes on the wire;
// - reconnect with exponential backoff and jitter, on a fresh socket and a fresh ModbusRTU:
//   modbus-serial 8 keeps its receive buffer and transaction table across errors, and after an
//   ECONNRESET its TcpPort clears `openFlag` without ever emitting "close" (ports/tcpport.js),
//   so a half-dead client is never reused;
// - a unit that keeps failing is backed off on its own: its requests fail fast while the other
//   units on the same connection keep flowing;
// - a bounded queue: a read beyond `queueLimit` is coalesced with an identical pending read or
//   rejected; a write displaces the newest pending read and is never dropped silently;
// - every request promise settles (answer, error, timeout, disconnect or close()).
//
// We own the stream (a net.Socket given to modbus-serial's linkTCP, or a serial port or socket
// under an RtuPort) so that "close" and "error" are seen reliably and every reply is checked
// before modbus-serial parses it: on TCP the MBAP header (modbus-serial ignores the protocol id
// and waits forever for a length that garbage announces), on RTU the frame (rtu-port.ts).
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import ModbusRTU from 'modbus-serial';
import { SerialPort } from 'serialport';
import { NO_METRICS, type EdgeMetrics, type ModbusUnitMetrics } from '../edge-metrics';
import { RtuPort } from './rtu-port';
import { interFrameMs, type SerialLine } from './rtu-timing';

/** How requests reach the devices: Modbus TCP, RTU on a serial port, or RTU frames over TCP. */
export type TransportKind = 'tcp' | 'rtu' | 'rtu-over-tcp';
export const TRANSPORT_KINDS: readonly TransportKind[] = ['tcp', 'rtu', 'rtu-over-tcp'];

export interface SerialOptions extends SerialLine {
  /** The serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/... */
  path: string;
}

export interface TransportOptions {
  /** Default 'tcp'. */
  kind?: TransportKind;
  /** Host and port for 'tcp' and 'rtu-over-tcp' (ignored for 'rtu'). */
  host: string;
  port: number;
  /** The serial port and line settings for 'rtu'. */
  serial?: SerialOptions;
  /** Silence kept before each RTU request, ms; default t3.5 of the serial line (0 over TCP). */
  interFrameMs?: number;
  /** Per-request timeout, ms. */
  timeout: number;
  /** Most requests waiting (not counting the one in flight). */
  queueLimit: number;
  /** Reconnect backoff: first delay and cap, ms. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Consecutive failures of one unit before it is backed off, and its backoff delays, ms. */
  unitFailureThreshold?: number;
  unitBackoffMinMs?: number;
  unitBackoffMaxMs?: number;
  /** Random source for jitter (tests may pin it). */
  random?: () => number;
  /** Where requests and errors per unit are counted (the edge's metrics); default nowhere. */
  metrics?: EdgeMetrics;
}

export type TransportState = 'connecting' | 'connected' | 'backoff' | 'closed';

export interface TransportHealth {
  state: TransportState;
  kind: TransportKind;
  /** host:port, or the serial path and line settings. */
  endpoint: string;
  host: string;
  port: number;
  queueDepth: number;
  inFlight: boolean;
  lastError: string | null;
  /** Units currently backed off, with the time (ms epoch) their backoff ends. */
  backedOffUnits: { unit: number; until: number }[];
  /** When the next connect attempt is due while in backoff, ms epoch. */
  reconnectAt: number | null;
}

export type TransportErrorCode =
  | 'TIMEOUT' | 'DISCONNECTED' | 'CLOSED' | 'QUEUE_FULL' | 'UNIT_BACKOFF' | 'MALFORMED' | 'EXCEPTION' | 'INVALID';

export class ModbusTransportError extends Error {
  override name = 'ModbusTransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    readonly modbusCode?: number,
  ) {
    super(message);
  }
}

// 'write' is function 16 (write multiple registers), 'write-single' function 6 (one register),
// for devices that document only 6 for a register.
type Kind = 'read-holding' | 'read-input' | 'write' | 'write-single';

const isWrite = (kind: Kind): boolean => kind === 'write' || kind === 'write-single';

interface Pending {
  kind: Kind;
  unit: number;
  address: number;
  count: number;
  values?: number[];
  label: string;
  waiters: { resolve: (regs: number[]) => void; reject: (err: Error) => void }[];
  /** Set while in flight: settles the request once, whoever comes first. */
  settle?: (err: Error | null, regs?: number[]) => void;
}

interface UnitHealth {
  failures: number;
  backoffs: number;
  until: number;
  lastError: string;
}

/** Modbus exceptions that say the unit, not the request, is in trouble (Modbus spec, section 7). */
const UNIT_FAILURE_EXCEPTIONS = new Set([0x04, 0x06, 0x0a, 0x0b]);
const MAX_READ = 125;
const MAX_WRITE = 123;

/**
 * Close a socket or a serial port. A SerialPort's destroy() ends the stream but leaves the device
 * open and locked, so that the next open of the same path fails: it must be closed.
 */
function endStream(stream: Duplex, err?: Error): void {
  if (stream instanceof SerialPort) {
    if (err) stream.emit('error', err);
    if (stream.isOpen) stream.close(() => stream.destroy());
    else stream.destroy();
  } else stream.destroy(err);
}

function isReg(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

export class ModbusTransport extends EventEmitter {
  private readonly opts: Required<Omit<TransportOptions, 'serial' | 'interFrameMs'>> & Pick<TransportOptions, 'serial' | 'interFrameMs'>;
  /** Each unit's counters, looked up once: a request then costs one call, no allocation. */
  private readonly unitMetrics = new Map<number, ModbusUnitMetrics>();
  private state: TransportState = 'connecting';
  private client: ModbusRTU | null = null;
  private socket: Duplex | null = null;
  private readonly writes: Pending[] = [];
  private readonly reads: Pending[] = [];
  private inFlight: Pending | null = null;
  private lastError: string | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private reconnectAt: number | null = null;
  private reconnectAttempts = 0;
  private consecutiveTimeouts = 0;
  private readonly units = new Map<number, UnitHealth>();
  /** Bumped for every new socket, so that events of an old one are ignored. */
  private generation = 0;
  private closing: { resolve: () => void; timer: NodeJS.Timeout } | null = null;
  private closed: Promise<void> | null = null;

  constructor(options: TransportOptions) {
    super();
    this.opts = {
      reconnectMinMs: 250,
      reconnectMaxMs: 10_000,
      unitFailureThreshold: 3,
      unitBackoffMinMs: 2_000,
      unitBackoffMaxMs: 60_000,
      random: Math.random,
      kind: 'tcp',
      metrics: NO_METRICS,
      ...options,
    };
    if (this.opts.kind === 'rtu' && !this.opts.serial) throw new Error('an RTU transport needs a serial port (path, baud rate, parity, data and stop bits)');
    // Connect on the next tick, so that listeners registered right after construction see it.
    setImmediate(() => this.connect());
  }

  get name(): string {
    const s = this.opts.serial;
    if (this.opts.kind === 'rtu' && s) return `${s.path} (${s.baudRate} ${s.dataBits}${s.parity[0]?.toUpperCase() ?? 'N'}${s.stopBits})`;
    return `${this.opts.host}:${this.opts.port}${this.opts.kind === 'rtu-over-tcp' ? ' (RTU over TCP)' : ''}`;
  }

  health(): TransportHealth {
    const now = Date.now();
    return {
      state: this.state,
      kind: this.opts.kind,
      endpoint: this.name,
      host: this.opts.host,
      port: this.opts.port,
      queueDepth: this.writes.length + this.reads.length,
      inFlight: this.inFlight !== null,
      lastError: this.lastError,
      backedOffUnits: [...this.units.entries()].filter(([, u]) => u.until > now).map(([unit, u]) => ({ unit, until: u.until })),
      reconnectAt: this.reconnectAt,
    };
  }

  readHoldingRegisters(unit: number, address: number, count: number): Promise<number[]> {
    return this.enqueue({ kind: 'read-holding', unit, address, count, label: `unit ${unit} FC3 ${address}+${count}`, waiters: [] });
  }

  readInputRegisters(unit: number, address: number, count: number): Promise<number[]> {
    return this.enqueue({ kind: 'read-input', unit, address, count, label: `unit ${unit} FC4 ${address}+${count}`, waiters: [] });
  }

  async writeRegisters(unit: number, address: number, values: readonly number[]): Promise<void> {
    await this.enqueue({ kind: 'write', unit, address, count: values.length, values: [...values], label: `unit ${unit} FC16 ${address}+${values.length}`, waiters: [] });
  }

  /** Function 6: one register, for devices that accept only it there. Queued and ranked as any write. */
  async writeRegister(unit: number, address: number, value: number): Promise<void> {
    await this.enqueue({ kind: 'write-single', unit, address, count: 1, values: [value], label: `unit ${unit} FC6 ${address}`, waiters: [] });
  }

  /**
   * Stop: reads are refused at once, writes already queued (or queued within `drainMs`, e.g. a
   * PCS node's last 0 W) still go out, then every remaining request is rejected and the socket closed.
   */
  close(drainMs = this.opts.timeout): Promise<void> {
    if (this.closed) return this.closed;
    this.closed = new Promise<void>((resolve) => {
      for (const r of this.reads.splice(0)) this.fail(r, new ModbusTransportError('CLOSED', `${r.label}: connection ${this.name} closed`));
      const finish = (): void => {
        if (!this.closing) return;
        clearTimeout(this.closing.timer);
        this.closing = null;
        this.shutdown();
        resolve();
      };
      this.closing = { resolve: finish, timer: setTimeout(finish, this.state === 'connected' ? drainMs : 0) };
      // Node-RED calls every node's close handler in one go: give a write queued by another
      // node's handler in the same turn (a PCS node's last 0 W) the chance to go out.
      setImmediate(() => this.maybeFinishClose());
    });
    return this.closed;
  }

  // ---------------------------------------------------------------- queue

  private enqueue(req: Pending): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      req.waiters.push({ resolve, reject });
      const invalid = this.validate(req);
      if (invalid) return this.fail(req, new ModbusTransportError('INVALID', `${req.label}: ${invalid}`));
      if (this.state === 'closed' || (this.closing && !isWrite(req.kind))) {
        return this.fail(req, new ModbusTransportError('CLOSED', `${req.label}: connection ${this.name} closed`));
      }
      if (this.state === 'backoff') {
        const wait = this.reconnectAt === null ? 0 : Math.max(0, this.reconnectAt - Date.now());
        return this.fail(req, new ModbusTransportError('DISCONNECTED',
          `${req.label}: not connected to ${this.name} (reconnecting in ${(wait / 1000).toFixed(1)} s; last error: ${this.lastError ?? 'none'})`));
      }
      const backoff = this.unitBackoff(req.unit);
      if (backoff) return this.fail(req, backoff(req.label));
      const depth = this.writes.length + this.reads.length;
      if (isWrite(req.kind)) {
        if (depth >= this.opts.queueLimit) {
          // A write outranks a read: make room by refusing the newest read, never the write.
          const displaced = this.reads.pop();
          if (!displaced) {
            return this.fail(req, new ModbusTransportError('QUEUE_FULL', `${req.label}: queue of ${this.name} is full of writes (${depth})`));
          }
          this.fail(displaced, new ModbusTransportError('QUEUE_FULL', `${displaced.label}: dropped from the full queue of ${this.name} to make room for a write`));
        }
        this.writes.push(req);
      } else {
        const same = this.reads.find((r) => r.kind === req.kind && r.unit === req.unit && r.address === req.address && r.count === req.count);
        if (same) {
          // An identical read is already waiting: share its answer instead of asking twice.
          same.waiters.push(...req.waiters);
          return;
        }
        if (depth >= this.opts.queueLimit) {
          return this.fail(req, new ModbusTransportError('QUEUE_FULL', `${req.label}: queue of ${this.name} is full (${depth} waiting)`));
        }
        this.reads.push(req);
      }
      this.pump();
    });
  }

  private validate(req: Pending): string | null {
    if (!Number.isInteger(req.unit) || req.unit < 0 || req.unit > 255) return `unit id ${req.unit} outside 0..255`;
    if (!isReg(req.address)) return `address ${req.address} outside 0..65535`;
    const max = isWrite(req.kind) ? MAX_WRITE : MAX_READ;
    if (!Number.isInteger(req.count) || req.count < 1 || req.count > max) return `quantity ${req.count} outside 1..${max}`;
    if (req.address + req.count > 0x10000) return 'request runs past register 65535';
    if (req.values && !req.values.every(isReg)) return 'values must be integers 0..65535';
    return null;
  }

  private counters(unit: number): ModbusUnitMetrics {
    let m = this.unitMetrics.get(unit);
    if (!m) {
      m = this.opts.metrics.modbusUnit(this.name, unit);
      this.unitMetrics.set(unit, m);
    }
    return m;
  }

  private fail(req: Pending, err: Error): void {
    // Not for a unit id outside 0..255: bad input must not make up new label values.
    if (req.waiters.length > 0 && Number.isInteger(req.unit) && req.unit >= 0 && req.unit <= 255) {
      this.counters(req.unit).error(err instanceof ModbusTransportError ? err.code : 'DISCONNECTED');
    }
    for (const w of req.waiters.splice(0)) w.reject(err);
  }

  private succeed(req: Pending, regs: number[]): void {
    for (const w of req.waiters.splice(0)) w.resolve(regs);
  }

  private pump(): void {
    if (this.inFlight || this.state !== 'connected' || !this.client) return;
    const req = this.writes.shift() ?? this.reads.shift();
    if (!req) return this.maybeFinishClose();
    const backoff = this.unitBackoff(req.unit);
    if (backoff) {
      this.fail(req, backoff(req.label));
      return this.pump();
    }
    this.inFlight = req;
    this.counters(req.unit).request();
    const client = this.client;
    const generation = this.generation;
    let settled = false;
    const timer = setTimeout(() => settle(new ModbusTransportError('TIMEOUT', `${req.label}: no reply from ${this.name} within ${this.opts.timeout} ms`)), this.opts.timeout);
    const settle = (err: Error | null, regs?: number[]): void => {
      // modbus-serial may still call back after our timeout or after the socket was replaced.
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (this.inFlight === req) this.inFlight = null;
      this.settled(req, err, regs ?? [], generation);
    };
    req.settle = settle;
    try {
      const cb = (err: (Error & { modbusCode?: number }) | null, res?: object): void => {
        const data = res && 'data' in res && Array.isArray(res.data) ? (res.data as number[]) : null;
        if (err) settle(this.classify(req, err));
        else if (isWrite(req.kind)) settle(null, []);
        else if (!data || data.length !== req.count) {
          settle(new ModbusTransportError('MALFORMED', `${req.label}: reply holds ${data?.length ?? 0} registers, asked for ${req.count}`));
        } else settle(null, data);
      };
      if (req.kind === 'read-holding') client.writeFC3(req.unit, req.address, req.count, cb);
      else if (req.kind === 'read-input') client.writeFC4(req.unit, req.address, req.count, cb);
      else if (req.kind === 'write-single') client.writeFC6(req.unit, req.address, req.values?.[0] ?? 0, cb);
      else client.writeFC16(req.unit, req.address, req.values ?? [], cb);
    } catch (err) {
      settle(new ModbusTransportError('DISCONNECTED', `${req.label}: ${(err as Error).message}`));
    }
  }

  private classify(req: Pending, err: Error & { modbusCode?: number }): ModbusTransportError {
    if (err instanceof ModbusTransportError) return err;
    if (typeof err.modbusCode === 'number') {
      return new ModbusTransportError('EXCEPTION', `${req.label}: ${err.message}`, err.modbusCode);
    }
    if (/length|CRC|Unexpected data/i.test(err.message)) {
      return new ModbusTransportError('MALFORMED', `${req.label}: malformed reply from ${this.name} (${err.message})`);
    }
    if (err.name === 'PortNotOpenError' || /not open/i.test(err.message)) {
      return new ModbusTransportError('DISCONNECTED', `${req.label}: connection to ${this.name} is not open`);
    }
    return new ModbusTransportError('DISCONNECTED', `${req.label}: ${err.message}`);
  }

  private settled(req: Pending, err: Error | null, regs: number[], generation: number): void {
    if (!err) {
      this.consecutiveTimeouts = 0;
      this.units.delete(req.unit);
      this.succeed(req, regs);
    } else {
      this.fail(req, err);
      const code = err instanceof ModbusTransportError ? err.code : 'DISCONNECTED';
      const unitTrouble = code === 'TIMEOUT' || (code === 'EXCEPTION' && UNIT_FAILURE_EXCEPTIONS.has((err as ModbusTransportError).modbusCode ?? -1));
      if (unitTrouble) this.unitFailed(req.unit, err.message);
      this.setError(err.message);
      if (generation === this.generation && this.state === 'connected') {
        if (code === 'DISCONNECTED' || (code === 'MALFORMED' && this.opts.kind === 'tcp')) {
          // The byte stream cannot be trusted any more: start over on a new socket. RTU frames
          // are delimited by silence and the RTU port drops what is left of a bad one, so the
          // next request starts clean on the same line.
          this.reset(err.message);
        } else if (code === 'TIMEOUT' && this.opts.kind !== 'rtu' && ++this.consecutiveTimeouts >= 2) {
          // On a serial bus a silent unit is that unit's trouble (backed off above), not the line's.
          this.reset(`${this.consecutiveTimeouts} requests in a row got no reply`);
        }
      }
    }
    setImmediate(() => this.pump());
  }

  private maybeFinishClose(): void {
    if (this.closing && !this.inFlight && this.writes.length === 0) this.closing.resolve();
  }

  // ---------------------------------------------------------------- per-unit backoff

  private unitBackoff(unit: number): ((label: string) => ModbusTransportError) | null {
    const u = this.units.get(unit);
    if (!u || u.until <= Date.now()) return null;
    const left = ((u.until - Date.now()) / 1000).toFixed(1);
    return (label) => new ModbusTransportError('UNIT_BACKOFF',
      `${label}: unit ${unit} is backed off for ${left} s after ${u.failures} failures in a row (last: ${u.lastError})`);
  }

  private unitFailed(unit: number, message: string): void {
    const u = this.units.get(unit) ?? { failures: 0, backoffs: 0, until: 0, lastError: '' };
    u.failures++;
    u.lastError = message;
    if (u.failures >= this.opts.unitFailureThreshold) {
      // After the backoff ends one probe goes through; if it fails too the next backoff doubles.
      const delay = Math.min(this.opts.unitBackoffMaxMs, this.opts.unitBackoffMinMs * 2 ** u.backoffs);
      u.until = Date.now() + this.jitter(delay);
      u.backoffs++;
      const err = new ModbusTransportError('UNIT_BACKOFF', `unit ${unit} backed off`);
      // Fail queued requests of this unit now rather than let them time out one by one.
      for (const list of [this.reads, this.writes]) {
        for (let i = list.length - 1; i >= 0; i--) {
          const r = list[i];
          if (r && r.unit === unit) {
            list.splice(i, 1);
            this.fail(r, new ModbusTransportError(err.code, `${r.label}: unit ${unit} is backed off after ${u.failures} failures in a row (last: ${message})`));
          }
        }
      }
    }
    this.units.set(unit, u);
    this.emitHealth();
  }

  // ---------------------------------------------------------------- connection

  private jitter(ms: number): number {
    return Math.round(ms * (0.8 + 0.4 * this.opts.random()));
  }

  private setState(state: TransportState): void {
    if (this.state === state) return;
    this.state = state;
    this.emitHealth();
  }

  private setError(message: string): void {
    this.lastError = message;
    this.emitHealth();
  }

  private emitHealth(): void {
    this.emit('health', this.health());
  }

  private connect(): void {
    if (this.state === 'closed' || this.closing) return;
    this.reconnectTimer = null;
    this.reconnectAt = null;
    this.setState('connecting');
    const generation = ++this.generation;
    const serial = this.opts.kind === 'rtu' ? this.opts.serial : undefined;
    const stream: Duplex = serial
      ? new SerialPort({ path: serial.path, baudRate: serial.baudRate, parity: serial.parity, dataBits: serial.dataBits, stopBits: serial.stopBits, autoOpen: false })
      : new net.Socket();
    this.socket = stream;
    let connected = false;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    const connectTimer = setTimeout(() => {
      if (!connected) endStream(stream, new Error(`connect to ${this.name} timed out after ${Math.max(this.opts.timeout, 1000)} ms`));
    }, Math.max(this.opts.timeout, 1000));
    this.connectTimer = connectTimer;
    stream.on('error', (err) => {
      if (generation === this.generation) this.setError(`${this.name}: ${err.message}`);
      // A serial port that fails to open emits no "close": treat its error as the end.
      if (serial && !connected && generation === this.generation) this.reset(`${this.name}: ${err.message}`);
    });
    stream.on('close', () => {
      clearTimeout(connectTimer);
      if (generation === this.generation) this.reset(this.lastError && !connected ? this.lastError : `connection to ${this.name} closed${serial ? '' : ' by the server'}`);
    });
    const opened = (): void => {
      connected = true;
      clearTimeout(connectTimer);
      this.attachClient(stream, generation);
    };
    if (stream instanceof SerialPort) {
      stream.open((err) => {
        if (err) stream.emit('error', err);
        else opened();
      });
    } else if (stream instanceof net.Socket) {
      if (this.opts.kind === 'tcp') stream.on('data', (chunk: Buffer) => this.checkFrames(stream, chunk, generation));
      stream.connect({ host: this.opts.host, port: this.opts.port }, () => {
        stream.setNoDelay(true);
        opened();
      });
    }
  }

  /** Put modbus-serial's client on the open stream: MBAP framing on TCP, an RtuPort otherwise. */
  private attachClient(stream: Duplex, generation: number): void {
    const ready = (client: ModbusRTU) => (err: Error | null | undefined): void => {
      if (generation !== this.generation) return;
      if (err) return this.reset(`${this.name}: ${err.message}`);
      this.client = client;
      this.reconnectAttempts = 0;
      this.consecutiveTimeouts = 0;
      this.setState('connected');
      this.pump();
    };
    if (this.opts.kind === 'tcp' && stream instanceof net.Socket) {
      const client = new ModbusRTU();
      client.on('error', () => undefined); // errors arrive through the socket and the callbacks
      client.linkTCP(stream, { port: this.opts.port }, ready(client));
      return;
    }
    const serial = this.opts.serial;
    const gap = this.opts.interFrameMs ?? (this.opts.kind === 'rtu' && serial ? interFrameMs(serial) : 0);
    const port = new RtuPort(stream, {
      interFrameMs: gap,
      // A reply that stops short is cut after this silence (see RtuPortOptions.frameEndMs).
      frameEndMs: Math.max(20, 10 * gap),
      onFault: (message) => {
        if (generation !== this.generation) return;
        const req = this.inFlight;
        // The fault first: a node's status shows the start of the message.
        req?.settle?.(new ModbusTransportError('MALFORMED', `${req.label}: ${message}, from ${this.name}`));
      },
    });
    const client = new ModbusRTU(port);
    client.on('error', () => undefined);
    client.open(ready(client));
  }

  /**
   * Check each reply's MBAP header (Modbus TCP Implementation Guide 1.0b, 3.1.3): protocol id 0,
   * length 2..254. Garbage otherwise makes modbus-serial wait for a length that never comes.
   */
  private frameBuffer: Buffer = Buffer.alloc(0);
  private checkFrames(socket: Duplex, chunk: Buffer, generation: number): void {
    if (generation !== this.generation) return;
    this.frameBuffer = this.frameBuffer.length ? Buffer.concat([this.frameBuffer, chunk]) : chunk;
    while (this.frameBuffer.length >= 6) {
      const protocol = this.frameBuffer.readUInt16BE(2);
      const length = this.frameBuffer.readUInt16BE(4);
      if (protocol !== 0 || length < 2 || length > 254) {
        const head = this.frameBuffer.subarray(0, 8).toString('hex');
        const err = new ModbusTransportError('MALFORMED',
          `${this.inFlight?.label ?? 'reply'}: garbage from ${this.name}: not a Modbus TCP frame (protocol id ${protocol}, length ${length}, bytes ${head})`);
        this.frameBuffer = Buffer.alloc(0);
        this.inFlight?.settle?.(err);
        if (!this.inFlight) this.reset(err.message);
        socket.destroy();
        return;
      }
      if (this.frameBuffer.length < 6 + length) return;
      this.frameBuffer = this.frameBuffer.subarray(6 + length);
    }
  }

  /** Drop the socket and the client, fail what was in flight, and schedule a reconnect. */
  private reset(reason: string): void {
    if (this.state === 'closed') return;
    this.generation++;
    this.frameBuffer = Buffer.alloc(0);
    this.dropClient();
    this.setError(reason);
    const req = this.inFlight;
    if (req?.settle) req.settle(new ModbusTransportError('DISCONNECTED', `${req.label}: ${reason}`));
    this.inFlight = null;
    // Nothing queued can be sent before the reconnect: fail it now with the reason.
    for (const r of [...this.writes.splice(0), ...this.reads.splice(0)]) {
      this.fail(r, new ModbusTransportError('DISCONNECTED', `${r.label}: ${reason}`));
    }
    if (this.closing) return this.closing.resolve();
    const delay = this.jitter(Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** this.reconnectAttempts));
    this.reconnectAttempts++;
    this.reconnectAt = Date.now() + delay;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    this.setState('backoff');
  }

  private dropClient(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const socket = this.socket;
    this.socket = null;
    this.client = null;
    if (socket) {
      socket.removeAllListeners('data');
      socket.removeAllListeners('close');
      socket.on('error', () => undefined);
      endStream(socket);
    }
  }

  private shutdown(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.reconnectAt = null;
    this.generation++;
    const req = this.inFlight;
    this.inFlight = null;
    if (req?.settle) req.settle(new ModbusTransportError('CLOSED', `${req.label}: connection ${this.name} closed`));
    for (const r of [...this.writes.splice(0), ...this.reads.splice(0)]) {
      this.fail(r, new ModbusTransportError('CLOSED', `${r.label}: connection ${this.name} closed`));
    }
    this.dropClient();
    this.state = 'closed';
    this.emitHealth();
  }
}

