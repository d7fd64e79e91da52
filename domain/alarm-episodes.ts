// Alarm episodes: one root event (an over-temperature, a lost link) sets off alarms of its own
// consequences (the BMS's alarm, the derating notices, the PCS tripping). The catalogue below says,
// per alarm code, which codes can cause it, which edge codes a cloud rule merely repeats, and a
// short remedy for the operator. The rule (README, "Alarms"):
//   an alarm belongs to the episode of an alarm of the SAME site whose code can cause it (directly or
//   through a chain of causes) and that was raised within EPISODE_WINDOW_MS of it, before or after;
//   of several such causes the earliest raised wins; an alarm with none is the root of its own episode.
// The episode is named by its root alarm's id. Pure: the cloud's alarm store and the dashboard use it.

/** How far apart a cause and its consequence may be raised and still be one episode. */
export const EPISODE_WINDOW_MS = 120_000;

export interface AlarmCodeInfo {
  /** Codes that can set this one off (its direct causes). */
  causes: readonly string[];
  /** Edge codes this (cloud) code only repeats: while one of them is open at the site, it is not raised. */
  duplicates?: readonly string[];
  /** What to do, in a sentence. */
  remedy: string;
}

const TEMP = ['OVER_TEMPERATURE', 'UNDER_TEMPERATURE'] as const;
const CELL = ['CELL_OVER_VOLTAGE', 'CELL_UNDER_VOLTAGE'] as const;

export const ALARM_CATALOGUE: Readonly<Record<string, AlarmCodeInfo>> = {
  // roots: what is wrong with the battery, the site or the link
  OVER_TEMPERATURE: { causes: [], remedy: 'The battery is too hot and is held idle. Check the enclosure ventilation and fans; it resumes by itself once 2 degC below the limit.' },
  UNDER_TEMPERATURE: { causes: [], remedy: 'The battery is too cold to use. Heat the room or enclosure; it resumes by itself once 2 degC above the limit.' },
  CELL_OVER_VOLTAGE: { causes: [], remedy: 'A cell is above its voltage limit. Charging stops; let the BMS balance, and check the cell tap and the charge limits if it repeats.' },
  CELL_UNDER_VOLTAGE: { causes: [], remedy: 'A cell is below its voltage limit. Discharge stops; charge the battery soon, and check the cell tap if one cell lags.' },
  ESTOP: { causes: [], remedy: 'An emergency stop is latched. Find out why it was pressed; a TECHNICIAN or above resets it on the site page.' },
  LATCH_NOT_SAVED: { causes: [], remedy: "The e-stop latch could not be written to disk. Check the edge's data directory (space, permissions)." },
  TELEMETRY_MISSING: { causes: [], remedy: 'No battery telemetry reaches the controller. Check the Modbus connection to the BMS (cable, address, port).' },
  TELEMETRY_STALE: { causes: [], remedy: 'Device telemetry stopped updating. Check the Modbus link and that the device still answers.' },
  CAPACITY_UNKNOWN: { causes: [], remedy: "Set the battery's nameplate energy in the device profile or the safety-limits node." },
  SITE_OFFLINE: { causes: [], remedy: "The site's connection to the cloud closed. Check the edge's power, network and the MQTT broker." },
  GRID_DISCONNECTED: { causes: [], remedy: 'The grid is gone and the PCS tripped off it (anti-islanding). Nothing to do at the battery; it reconnects when the grid is back.' },
  ANOMALY: { causes: [], remedy: 'The battery behaved unlike its recent cycles. Look at the insights page and plan an inspection.' },
  TELEMETRY_BUFFER_FULL: { causes: ['COMMUNICATION_LOST', 'SITE_OFFLINE'], remedy: 'The edge is dropping its oldest unsent records. Restore the link to the cloud, or raise the buffer size.' },
  TEMPERATURE_UNMEASURED: { causes: [], remedy: 'The BMS reports no cell temperature; limits are derated. Check the BMS temperature sensors or the profile.' },
  CELL_SPREAD: { causes: [], remedy: 'The cells drift apart. Let the BMS balance at full charge; if it grows, plan a service visit.' },
  SOC_LOW: { causes: [], remedy: 'The battery is at its lowest allowed charge; discharge is blocked until it charges.' },
  SOC_HIGH: { causes: [], remedy: 'The battery is full; charging is blocked until it discharges.' },
  // knock-on: consequences of a root above
  COMMUNICATION_LOST: { causes: ['SITE_OFFLINE'], remedy: "No telemetry from the site: what the dashboard shows is old and commands cannot be confirmed. Check the edge's power and network." },
  BMS_FAULT: { causes: [...TEMP, ...CELL], remedy: 'The BMS reports a fault. Look at its alarms; if no root cause is shown, check the BMS on site.' },
  BMS_ALARM: { causes: [...TEMP, ...CELL], remedy: "The BMS raised its own alarm; it follows the root cause shown, else check the BMS's display on site." },
  BMS_WARNING: { causes: [...TEMP, ...CELL, 'CELL_SPREAD'], remedy: 'The BMS warns of a value near its limit; watch the root cause, nothing to do on its own.' },
  PCS_FAULT: { causes: [...TEMP, ...CELL, 'BMS_FAULT', 'GRID_DISCONNECTED'], remedy: "The inverter is in FAULT. Clear the root cause first; if it stays, check the PCS's display and reset it on site." },
  CHARGE_TEMPERATURE: { causes: [...TEMP], remedy: 'Charging is limited by the battery temperature; it follows the temperature, nothing to do on its own.' },
  DISCHARGE_TEMPERATURE: { causes: [...TEMP], remedy: 'Discharging is limited by the battery temperature; it follows the temperature, nothing to do on its own.' },
  CELL_VOLTAGE_TAPER: { causes: [...CELL], remedy: 'Power tapers near a cell voltage limit, as it should; nothing to do.' },
  // cloud rules that repeat an edge alarm
  TEMPERATURE_OUT_OF_BAND: { causes: [], duplicates: [...TEMP], remedy: 'The battery temperature is outside the fleet band. Check the site: ventilation, heating, the BMS sensors.' },
  SOC_OUT_OF_BAND: { causes: ['SOC_LOW', 'SOC_HIGH'], remedy: "The state of charge is outside the fleet band. Check the site's schedule and whether its envelope holds the SoC window." },
};

const NO_INFO: AlarmCodeInfo = { causes: [], remedy: "Open the site page for the alarm's context; the message says what the source saw." };

export function alarmInfo(code: string): AlarmCodeInfo {
  return Object.hasOwn(ALARM_CATALOGUE, code) ? (ALARM_CATALOGUE[code] as AlarmCodeInfo) : NO_INFO;
}

export function remedyOf(code: string): string {
  return alarmInfo(code).remedy;
}

/** Every code that can set `code` off, directly or through a chain. */
export function causesOf(code: string): ReadonlySet<string> {
  const out = new Set<string>();
  const todo = [...alarmInfo(code).causes];
  while (todo.length) {
    const c = todo.pop() as string;
    if (out.has(c) || c === code) continue;
    out.add(c);
    todo.push(...alarmInfo(c).causes);
  }
  return out;
}

/** The longest chain of causes above a code: roots 0. The catalogue is acyclic (a test checks). */
function depth(code: string, seen: ReadonlySet<string> = new Set()): number {
  const causes = alarmInfo(code).causes.filter((c) => !seen.has(c));
  if (causes.length === 0) return 0;
  const next = new Set([...seen, code]);
  return 1 + Math.max(...causes.map((c) => depth(c, next)));
}

export interface EpisodeMember {
  id: number;
  siteId: string;
  code: string;
  /** ms epoch */
  raisedAt: number;
}

/**
 * The episode (root alarm id) of each alarm: see the rule at the top. Causes are settled before
 * their consequences (by depth), so a chain resolves to its first root. Settled alarms are indexed
 * by site and code, so a long history costs a look-up per possible cause, not a scan.
 */
export function episodeRoots(alarms: readonly EpisodeMember[], windowMs = EPISODE_WINDOW_MS): Map<number, number> {
  const root = new Map<number, number>();
  const depths = new Map<string, number>();
  const depthOf = (code: string): number => {
    let d = depths.get(code);
    if (d === undefined) depths.set(code, (d = depth(code)));
    return d;
  };
  const order = [...alarms].sort((a, b) => depthOf(a.code) - depthOf(b.code) || a.raisedAt - b.raisedAt || a.id - b.id);
  const settled = new Map<string, EpisodeMember[]>();
  const slot = (siteId: string, code: string) => `${siteId}\u0000${code}`;
  for (const a of order) {
    let cause: EpisodeMember | null = null;
    for (const code of causesOf(a.code)) {
      for (const b of settled.get(slot(a.siteId, code)) ?? []) {
        if (Math.abs(b.raisedAt - a.raisedAt) > windowMs) continue;
        if (cause === null || b.raisedAt < cause.raisedAt || (b.raisedAt === cause.raisedAt && b.id < cause.id)) cause = b;
      }
    }
    root.set(a.id, cause ? (root.get(cause.id) as number) : a.id);
    const k = slot(a.siteId, a.code);
    const list = settled.get(k);
    if (list) list.push(a);
    else settled.set(k, [a]);
  }
  return root;
}

/** True when a cloud rule's `code` only repeats one of the site's open edge alarms `openCodes`. */
export function repeatsOpenAlarm(code: string, openCodes: Iterable<string>): boolean {
  const dup = alarmInfo(code).duplicates;
  if (!dup?.length) return false;
  for (const c of openCodes) if (dup.includes(c)) return true;
  return false;
}

/** The (cloud) codes that only repeat the edge code `code`. */
export function repeatersOf(code: string): string[] {
  return Object.entries(ALARM_CATALOGUE).filter(([, i]) => i.duplicates?.includes(code)).map(([c]) => c);
}
