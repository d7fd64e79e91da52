// The polling loop shared by sunspec-device and profile-device: one poll at a time, at a fixed
// rate on a grid of `interval` ms (never overlapping, so a slow device cannot pile up requests; a
// poll that overruns its slot makes the next one start at once, then the grid is kept), at a
// phase within the interval the node chooses, an immediate poll on any input message, status from the connection's health,
// and errors through node.error(err, msg) so Catch nodes see them. A repeating error is reported
// once per failure streak, not every interval, even when its details change from poll to poll
// (a discovery that fails at each base address says why in parentheses) or it alternates with
// another; it is reported again after a success.
// Each telemetry message carries msg.trace = { pollStartedAt: performance.now() at poll start }:
// the nodes downstream pass the message object on, so the loop latency (poll start to setpoint
// write acknowledged) can be read at the end of the flow. performance.now() is process-local.
import type { Node, NodeMessage, NodeMessageInFlow } from 'node-red';
import { TelemetrySchema, describeIssues, type Telemetry } from '../../domain/contracts';
import { topics } from '../../domain/topics';
import type { EdgeMetrics } from '../../io/edge-metrics';
import type { ModbusTransport, TransportHealth } from '../../io/modbus/transport';
import { errorStatus, errorText, healthStatus, okStatus, telemetrySummary } from './status';

export interface PollerOptions {
  node: Node;
  transport: ModbusTransport;
  interval: number;
  siteId: string;
  /** One poll: read and decode the device, return the telemetry. */
  poll: () => Promise<Telemetry>;
  /** Forget what was discovered: called after a reconnect and after a failed poll. */
  invalidate: () => void;
  /**
   * Where in each interval polls start, as a fraction of it (default 0). Polls are due at
   * k * interval + phase * interval on performance.now()'s clock, which every node in the process
   * shares, so nodes on one connection can keep out of each other's way.
   */
  phase?: () => number;
  /** Where skipped slots are counted (the edge's metrics, README "Edge metrics"). */
  metrics?: EdgeMetrics;
}

type Send = (msg: NodeMessage) => void;
type Done = (err?: Error) => void;
interface Trigger { msg: NodeMessageInFlow; send: Send; done: Done }

/** What the poller puts on msg.trace. */
export interface PollTrace { pollStartedAt: number }

const MAX_WAITING_INPUTS = 10;
/** A gap between poll starts longer than this many intervals skipped at least one slot. */
const MISSED_GAP = 1.5;

export class DevicePoller {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private stopped = false;
  private readonly waiting: Trigger[] = [];
  private lastReported: string | null = null;
  /** The kinds of error reported since the last success (errorKind). */
  private readonly reportedKinds = new Set<string>();
  private lastState: TransportHealth['state'] | null = null;
  private lastStart: number | null = null;
  private readonly onHealth = (h: TransportHealth): void => this.health(h);

  constructor(private readonly o: PollerOptions) {
    o.transport.on('health', this.onHealth);
    this.health(o.transport.health());
  }

  /** Any input message: poll now (or right after the poll that is running). */
  input(msg: NodeMessageInFlow, send: Send, done: Done): void {
    if (this.waiting.length >= MAX_WAITING_INPUTS) {
      done(new Error(`${MAX_WAITING_INPUTS} polls are already waiting: input dropped`));
      return;
    }
    this.waiting.push({ msg, send, done });
    if (!this.busy) void this.run();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.o.transport.off('health', this.onHealth);
    for (const w of this.waiting.splice(0)) w.done();
  }

  private health(h: TransportHealth): void {
    const was = this.lastState;
    this.lastState = h.state;
    if (h.state === was) return;
    const status = healthStatus(h);
    if (status) this.o.node.status(status);
    if (h.state === 'connected') {
      // A new connection may be a restarted or replaced device: discover again, poll at once.
      this.o.invalidate();
      this.schedule(0);
    } else if (h.state === 'backoff' && was === 'connected') {
      this.report(new Error(h.lastError ?? `connection to ${h.endpoint} lost`));
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.busy) void this.run();
    }, ms);
  }

  private async run(): Promise<void> {
    if (this.stopped || this.busy) return;
    this.busy = true;
    const trigger = this.waiting.shift();
    const started = performance.now();
    const trace: PollTrace = { pollStartedAt: started };
    this.countMissed(started);
    try {
      const telemetry = await this.o.poll();
      const parsed = TelemetrySchema.safeParse(telemetry);
      if (!parsed.success) throw new Error(`decoded telemetry is invalid: ${describeIssues(parsed.error)}`);
      if (this.stopped) return trigger?.done();
      const topic = topics.telemetry(this.o.siteId);
      this.o.node.status(okStatus(telemetrySummary(parsed.data)));
      if (this.lastReported !== null) this.o.node.log(`recovered: ${telemetrySummary(parsed.data)}`);
      this.lastReported = null;
      this.reportedKinds.clear();
      if (trigger) {
        const out = trigger.msg as NodeMessage;
        out.payload = parsed.data;
        out.topic = topic;
        out.trace = trace;
        trigger.send(out);
        trigger.done();
      } else {
        this.o.node.send({ payload: parsed.data, topic, trace } as NodeMessage);
      }
    } catch (err) {
      const e = err instanceof Error ? err : new Error(errorText(err));
      this.o.invalidate();
      if (!this.stopped) {
        // While the connection is down its status (reconnecting) says more than the request error.
        const h = this.o.transport.health();
        this.o.node.status(healthStatus(h) ?? errorStatus(e));
        if (trigger) {
          this.lastReported = e.message;
          trigger.done(e);
        } else {
          this.report(e);
        }
      } else trigger?.done();
    } finally {
      this.busy = false;
      if (!this.stopped) {
        if (this.waiting.length) void this.run();
        else this.schedule(this.untilNextSlot(started));
      }
    }
  }

  /** Slots of the grid that passed without a poll since the previous one (an overrun). */
  private countMissed(started: number): void {
    const { interval } = this.o;
    const gap = this.lastStart === null ? 0 : started - this.lastStart;
    this.lastStart = started;
    if (gap > MISSED_GAP * interval) this.o.metrics?.missedCycles(Math.max(1, Math.round(gap / interval) - 1));
  }

  /**
   * Time until the first slot of the grid at least half an interval after this poll's start
   * (a timer may fire a fraction of a ms before its slot: that must not count as a missed one).
   */
  private untilNextSlot(started: number): number {
    const { interval } = this.o;
    const offset = (Math.min(1, Math.max(0, this.o.phase?.() ?? 0)) * interval) % interval;
    const due = (Math.floor((started + interval / 2 - offset) / interval) + 1) * interval + offset;
    return Math.max(0, due - performance.now());
  }

  /** node.error once per kind of error and failure streak, so that a dead device does not flood the log. */
  private report(err: Error): void {
    const kind = errorKind(err.message);
    this.lastReported = err.message;
    if (this.reportedKinds.has(kind) || this.reportedKinds.size >= 32) return;
    this.reportedKinds.add(kind);
    this.o.node.error(err, { payload: null, topic: topics.telemetry(this.o.siteId), error: { message: err.message } } as NodeMessage);
  }
}

/**
 * What an error is about, without the details that change from poll to poll: "no SunSpec marker
 * found (40000: connect ECONNREFUSED ...; 0: ...)" and the same with a timeout are one kind.
 */
export function errorKind(message: string): string {
  return message.replace(/\s*\(.*$/s, '').replace(/\d+/g, '#');
}
