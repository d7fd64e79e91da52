// The fleet hub: where the cloud's flow and the cloud's API meet inside one process. The flow's
// nodes (telemetry-in, timeseries-out, command-out, through the fleet-hub node) publish what
// arrives from the sites and register the store and the command path; the API and its realtime
// channel read and subscribe here. Node-RED is one runtime per process, so one hub per process
// (`fleetHub`) serves the cloud; tests build their own.
import { EventEmitter } from 'node:events';
import type { Alarm, CommandAck, CommandBody, Plan, Role, SiteState, TelemetryRecord } from '../../nodes/domain/contracts';
import type { TimeseriesStore } from '../timeseries/store';

/** A command for one site as the API hands it to the command path. */
export interface FleetCommand {
  siteId: string;
  body: CommandBody;
  by: string;
  role: Role;
  /** Seconds until the site must treat it as void. */
  expiresInS: number;
  /** The API's own id (for the audit log and the realtime ack); generated when omitted. */
  id?: string;
}

/** The final answer for a command: executed, rejected or timeout (accepted is only a step). */
export type CommandSender = (command: FleetCommand) => Promise<CommandAck>;

export interface FleetEvents {
  record: [TelemetryRecord];
  alarm: [Alarm & { siteId: string }];
  state: [SiteState];
  /** Every ack as it arrives: accepted, then executed or rejected; timeout from the cloud. */
  ack: [CommandAck];
  plan: [{ siteId: string; plan: Plan }];
}

export class FleetUnavailableError extends Error {
  override readonly name = 'FleetUnavailableError';
}

export class FleetHub extends EventEmitter<FleetEvents> {
  #store: () => TimeseriesStore | null = () => null;
  #sender: CommandSender | null = null;

  /** The store the flow writes to, once its timeseries-out node has started (null before). */
  get store(): TimeseriesStore | null {
    return this.#store();
  }

  /** A store, or a function finding it (the flow's store may be redeployed and replaced). */
  setStore(store: TimeseriesStore | null | (() => TimeseriesStore | null)): void {
    this.#store = typeof store === 'function' ? store : () => store;
  }

  setCommandSender(sender: CommandSender | null): void {
    this.#sender = sender;
  }

  get canSendCommands(): boolean {
    return this.#sender !== null;
  }

  /** Sends through the flow's command path; rejects with FleetUnavailableError when there is none. */
  sendCommand(command: FleetCommand): Promise<CommandAck> {
    if (!this.#sender) return Promise.reject(new FleetUnavailableError('no command path: the cloud flow has no fleet-hub wired to a command-out node'));
    return this.#sender(command);
  }
}

/** The process's hub: the cloud runtime's flow and API share it. */
export const fleetHub = new FleetHub();
