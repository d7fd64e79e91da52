// The monthly report as CSV (RFC 4180, CRLF line ends): one figure per row, columns
// section,metric,value,unit. Sections in order: report, energy, cycles, soh, availability, bill,
// peak, alarms (one row per alarm code, metric = the code, unit = its worst severity). An unknown
// figure has an empty value. The layout is documented in the README, "Monthly report".
import type { MonthlyReport } from './monthly';

type Cell = string | number | boolean | null;

function cell(v: Cell): string {
  if (v === null) return '';
  const s = String(v);
  // Quote what a spreadsheet would misread: separators, quotes, line breaks, and leading formula characters.
  const guarded = /^[=+\-@]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

export const CSV_HEADER = ['section', 'metric', 'value', 'unit'] as const;

export function monthlyReportRows(r: MonthlyReport): [string, string, Cell, string][] {
  const b = r.bill;
  return [
    ['report', 'site', r.siteId, ''],
    ['report', 'siteName', r.siteName, ''],
    ['report', 'month', r.month, r.timeZone],
    ['report', 'periodFrom', r.period.from, 'ISO 8601'],
    ['report', 'periodEnd', r.period.end, 'ISO 8601'],
    ['report', 'complete', r.period.complete, ''],
    ['report', 'generatedAt', r.generatedAt, 'ISO 8601'],
    ['energy', 'charged', r.energy.chargedKwh, 'kWh'],
    ['energy', 'discharged', r.energy.dischargedKwh, 'kWh'],
    ['cycles', 'equivalentFull', r.cycles.equivalentFull, '1'],
    ['cycles', 'ratedCapacity', r.cycles.capacityKwh, 'kWh'],
    ['soh', 'start', r.soh.startPct, '%'],
    ['soh', 'end', r.soh.endPct, '%'],
    ['soh', 'source', r.soh.source, ''],
    ['availability', 'share', r.availability.share, '1'],
    ['availability', 'onlineShare', r.availability.onlineShare, '1'],
    ['availability', 'controllableHours', r.availability.controllableHours, 'h'],
    ['availability', 'onlineHours', r.availability.onlineHours, 'h'],
    ['availability', 'periodHours', r.period.hours, 'h'],
    ['bill', 'withBattery', b.withBattery.totalEur, 'EUR'],
    ['bill', 'withBatteryEnergy', b.withBattery.energyEur, 'EUR'],
    ['bill', 'withBatteryDemand', b.withBattery.demandEur, 'EUR'],
    ['bill', 'withoutBattery', b.withoutBattery.totalEur, 'EUR'],
    ['bill', 'withoutBatteryEnergy', b.withoutBattery.energyEur, 'EUR'],
    ['bill', 'withoutBatteryDemand', b.withoutBattery.demandEur, 'EUR'],
    ['bill', 'saving', b.savingEur, 'EUR'],
    ['bill', 'pricedHours', b.pricedHours, 'h'],
    ['bill', 'unpricedHours', b.unpricedHours, 'h'],
    ['bill', 'tariffSource', b.tariffSource, ''],
    ['peak', 'import', r.peak.importKw, 'kW'],
    ['peak', 'lastMonthImport', r.peak.lastMonthImportKw, 'kW'],
    ['peak', 'change', r.peak.changeKw, 'kW'],
    ['alarms', 'total', r.alarms.total, 'count'],
    ...r.alarms.byType.map((a): [string, string, Cell, string] => ['alarms', a.code, a.count, a.severity]),
  ];
}

export function monthlyReportCsv(r: MonthlyReport): string {
  return [CSV_HEADER.join(','), ...monthlyReportRows(r).map((row) => row.map(cell).join(','))].join('\r\n') + '\r\n';
}
