// The fleet table's rows: each site's state, SoC, power and alarms from the API's answer merged
// with the realtime pushes, and the sorting and filtering the table offers. A site whose data
// stopped is 'stale' (not 'online'), and its old mode is not shown as current. Pure: tested alone.
import type { AlarmView } from '../../api/types';
import type { SiteWithLatest } from '../../stores/sites';
import type { SiteLive } from '../../stores/realtime';
import { needsAttention, SEVERITY_RANK } from '../../stores/alarms';
import { toMs } from '../../format';
import { shownSiteState, siteFreshness, type Freshness } from '../../components/status';

export interface FleetRow {
  id: string;
  name: string;
  state: 'online' | 'offline' | 'unknown' | 'stale';
  /** The state chip's words ("no data since 14:02:11" when stale). */
  stateLabel: string;
  freshness: Freshness;
  socPct: number | null;
  batteryW: number | null;
  gridW: number | null;
  mode: string | null;
  alarms: number;
  worstSeverity: AlarmView['severity'] | null;
  lastContact: number | null;
  lat: number | null;
  lon: number | null;
}

export type SortKey = 'name' | 'state' | 'socPct' | 'batteryW' | 'gridW' | 'alarms' | 'lastContact';

const MODE_NAMES = ['NORMAL', 'DERATED', 'SAFE_MODE', 'ESTOP'];

export function fleetRows(
  sites: readonly SiteWithLatest[],
  live: Readonly<Record<string, SiteLive>>,
  alarms: readonly AlarmView[],
  states: Readonly<Record<string, { state: 'online' | 'offline'; ts: number }>> = {},
  now = Date.now(),
): FleetRow[] {
  return sites.map((s) => {
    const l = live[s.id];
    const fields = { ...(s.latest?.fields ?? {}), ...(l?.fields ?? {}) };
    const mine = alarms.filter((a) => a.siteId === s.id && needsAttention(a));
    const worst = mine.reduce<AlarmView['severity'] | null>((w, a) => (w === null || SEVERITY_RANK[a.severity] < SEVERITY_RANK[w] ? a.severity : w), null);
    const lastContact = Math.max(toMs(s.lastSeen) ?? 0, toMs(s.latest?.ts) ?? 0, l?.ts ?? 0) || null;
    const modeCode = fields.modeCode;
    const fresh = siteFreshness(lastContact, now, s.freshness);
    const shown = shownSiteState(states[s.id]?.state ?? s.state, fresh, lastContact);
    return {
      id: s.id,
      name: s.name || s.id,
      state: shown.state as FleetRow['state'],
      stateLabel: shown.label,
      freshness: fresh,
      socPct: fields.socPct ?? null,
      batteryW: fields.pcsPowerW ?? fields.batteryPowerW ?? null,
      gridW: fields.gridPowerW ?? null,
      // An old mode is not the site's mode now.
      mode: fresh !== 'fresh' ? null : (l?.envelope?.mode ?? (modeCode !== undefined ? (MODE_NAMES[modeCode] ?? null) : null)),
      alarms: mine.length,
      worstSeverity: worst,
      lastContact,
      lat: s.lat,
      lon: s.lon,
    };
  });
}

export interface FleetFilter {
  text: string;
  state: 'all' | 'online' | 'offline' | 'unknown' | 'stale';
  alarmsOnly: boolean;
}

export function filterRows(rows: readonly FleetRow[], f: FleetFilter): FleetRow[] {
  const q = f.text.trim().toLowerCase();
  return rows.filter(
    (r) => (q === '' || r.name.toLowerCase().includes(q) || r.id.toLowerCase().includes(q)) && (f.state === 'all' || r.state === f.state) && (!f.alarmsOnly || r.alarms > 0),
  );
}

/** Sorts a copy; missing values always last, whatever the direction. */
export function sortRows(rows: readonly FleetRow[], key: SortKey, dir: 'asc' | 'desc'): FleetRow[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === null && y === null) return a.name.localeCompare(b.name);
    if (x === null) return 1;
    if (y === null) return -1;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return c === 0 ? a.name.localeCompare(b.name) : sign * c;
  });
}
