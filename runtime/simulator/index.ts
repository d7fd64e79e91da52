// The LiFePO4 site simulator: a battery (BMS), a PCS and a grid meter that behave like hardware,
// served over real Modbus TCP in the SunSpec layout (unit 1 battery, 2 PCS, 3 meter) with a
// control API for state and fault injection. Time may run faster than real time (speed).
import { OcvCurve } from '../../domain/lfp/ocv-curve';
import { ModbusRtuServer } from './modbus/rtu-server';
import { ModbusTcpServer } from './modbus/tcp-server';
import type { RegisterBank } from './modbus/register-bank';
import { loadOcvPoints } from '../../io/data/real-data';
import { packageVersion } from '../package-info';
import { defaultStart, SimClock } from './clock';
import { ControlApi } from './control-api';
import { commercialProfile, householdProfile, type SiteProfile } from './site-profile';
import { Site, siteConfig, type SiteKind } from './site';
import { servedUnits, siteImages, type BatteryVariant } from './images/site-images';
import { profileFamily } from '../../io/profile-library';

export interface SimulatorOptions {
  /** Address of the Modbus TCP server, default 127.0.0.1. */
  host?: string;
  /** Address of the control API, default `host`: each listener has its own (settings.ts). */
  controlHost?: string;
  modbusPort: number;
  controlPort: number;
  speed?: number;
  seed?: number;
  site?: 'household' | 'commercial';
  /** Simulated start time, ms since the epoch; default mid-June of the profile's year, 08:00 UTC. */
  startTime?: number;
  /** Wall-clock interval of the simulation loop, ms (default 100). */
  tickMs?: number;
  /** Equivalent full cycles the pack has done at the start (default 0: a new pack). */
  ageCycles?: number;
  /** Which SunSpec models the battery serves (default 'full'). */
  battery?: BatteryVariant;
  /** Also serve the units as Modbus RTU (8N1) on this serial port. */
  rtu?: { path: string; baudRate: number };
  /** A profile family of the library (e.g. victron-gx): also present the devices through its vendor maps. */
  profile?: string;
}

export interface RunningSimulator {
  modbusPort: number;
  controlPort: number;
  close(): Promise<void>;
}

export { Site, siteConfig } from './site';
export type { SiteState, SiteKind } from './site';
export type { FaultType, ActiveFault } from './faults';
export { AgeingCurve, measuredAgeingCurve } from './ageing';

let ocvCurve: OcvCurve | undefined;
const profiles = new Map<SiteKind, SiteProfile>();

/** Build a site from the real data (cached per process): the pure model, no timers or sockets. */
export function createSite(kind: SiteKind = 'household', seed = 1, startTime?: number, ageCycles = 0): Site {
  ocvCurve ??= new OcvCurve(loadOcvPoints());
  const config = siteConfig(kind, seed);
  config.pack.initialCycles = ageCycles;
  let profile = profiles.get(kind);
  if (!profile) {
    profile = kind === 'household' ? householdProfile() : commercialProfile({ peakLoadW: config.peakLoadW, pvPeakW: config.pvPeakW });
    profiles.set(kind, profile);
  }
  return new Site(config, profile, ocvCurve, startTime ?? defaultStart(profile.startMs));
}

/** A tick may cover at most this much simulated time (a stalled event loop must not freeze the process). */
const MAX_TICK_SIM_MS = 3_600_000;

export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const seed = opts.seed ?? 1;
  const site = createSite(opts.site ?? 'household', seed, opts.startTime, opts.ageCycles);
  const clock = new SimClock(site.simTimeMs, opts.speed ?? 1);
  site.clockSpeed = clock.speed;
  const images = siteImages(site, { seed, version: packageVersion }, opts.battery ?? 'full');
  const refresh = (): void => {
    for (const image of images.values()) image.refresh();
  };

  const units = servedUnits(site, { seed, version: packageVersion }, images, opts.profile ? profileFamily(opts.profile).map((p) => p.profile) : []);
  const server = new ModbusTcpServer({ host, port: opts.modbusPort, units: units as ReadonlyMap<number, RegisterBank> });
  server.on('error', (err: Error) => console.error(`sim: Modbus server error: ${err.message}`));
  // The same units on an RS-485 bus: one register image, two ways in.
  const rtu = opts.rtu ? new ModbusRtuServer({ path: opts.rtu.path, baudRate: opts.rtu.baudRate, units: units as ReadonlyMap<number, RegisterBank> }) : null;
  rtu?.on('error', (err: Error) => console.error(`sim: Modbus RTU error on ${opts.rtu?.path}: ${err.message}`));
  site.onFaultsChanged = (faults): void => {
    const silent = faults.some((f) => f.type === 'modbus-silence');
    server.silent = silent;
    if (rtu) rtu.silent = silent;
    refresh();
  };
  const api = new ControlApi(site, opts.controlHost ?? host, opts.controlPort, clock.speed);

  const modbusPort = await server.listen();
  let controlPort: number;
  try {
    await rtu?.listen();
    controlPort = await api.listen();
  } catch (err) {
    await Promise.all([server.close(), rtu?.close()]);
    throw err;
  }

  let lastError = '';
  const timer = setInterval(() => {
    try {
      const dt = Math.min(MAX_TICK_SIM_MS, clock.now() - site.simTimeMs);
      if (dt > 0) site.step(dt);
      refresh();
    } catch (err) {
      // Report once per distinct error: the loop must go on and the log must stay readable.
      const msg = (err as Error).message;
      if (msg !== lastError) console.error(`sim: step failed: ${msg}`);
      lastError = msg;
    }
  }, opts.tickMs ?? 100);

  let closed: Promise<void> | undefined;
  return {
    modbusPort,
    controlPort,
    close(): Promise<void> {
      closed ??= (async () => {
        clearInterval(timer);
        site.onFaultsChanged = undefined;
        await Promise.all([server.close(), api.close(), rtu?.close()]);
      })();
      return closed;
    },
  };
}
