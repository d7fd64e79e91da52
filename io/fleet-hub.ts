// The fleet hub: where the cloud's flow and the cloud's API meet inside one process. The flow's
// fleet-hub node publishes what arrives from the sites (records, alarms, states, acks, plans) and
// registers the command path; the API and its realtime channel subscribe here and send commands.
// The host creates one hub per cloud runtime and hands it to the API and, through Node-RED's
// settings, to the flow (io/host-resources.ts); tests build their own.
import { EventEmitter } from 'node:events';
import type { Alarm, CommandAck, CommandBody, Plan, Role, SiteState, TelemetryRecord } from '../domain/contracts';

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
  #sender: CommandSender | null = null;

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
