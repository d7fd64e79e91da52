// The monthly report as labelled, formatted lines in sections: the one text the dashboard page and
// the PDF both show, so the printed and the downloaded report say the same.
import type { MonthlyReport } from './monthly';

export interface ReportLine {
  label: string;
  value: string;
}

export interface ReportSection {
  title: string;
  lines: ReportLine[];
}

const num = (v: number | null, digits: number, unit: string): string => (v === null ? 'unknown' : `${v.toFixed(digits)} ${unit}`.trim());
const eur = (v: number): string => `${v.toFixed(2)} EUR`;
const pct = (share: number): string => `${(share * 100).toFixed(2)} %`;
const signed = (v: number | null, digits: number, unit: string): string => (v === null ? 'unknown' : `${v > 0 ? '+' : ''}${v.toFixed(digits)} ${unit}`);

export function monthlyReportSections(r: MonthlyReport): ReportSection[] {
  const b = r.bill;
  return [
    {
      title: 'Energy',
      lines: [
        { label: 'Charged', value: num(r.energy.chargedKwh, 1, 'kWh') },
        { label: 'Discharged', value: num(r.energy.dischargedKwh, 1, 'kWh') },
        { label: 'Equivalent full cycles', value: num(r.cycles.equivalentFull, 2, '') },
        { label: 'Rated capacity', value: num(r.cycles.capacityKwh, 1, 'kWh') },
      ],
    },
    {
      title: 'Battery health',
      lines: [
        { label: 'SoH at the start', value: num(r.soh.startPct, 1, '%') },
        { label: 'SoH at the end', value: num(r.soh.endPct, 1, '%') },
        { label: 'SoH source', value: r.soh.source === 'estimate' ? 'SoH estimate of the site' : r.soh.source === 'bms' ? 'BMS' : 'none' },
      ],
    },
    {
      title: 'Availability',
      lines: [
        { label: 'Available (online and controllable)', value: pct(r.availability.share) },
        { label: 'Online (telemetry recorded)', value: pct(r.availability.onlineShare) },
        { label: 'Hours available / in period', value: `${r.availability.controllableHours.toFixed(1)} h / ${r.period.hours.toFixed(1)} h` },
      ],
    },
    {
      title: 'Bill',
      lines: [
        { label: 'Without the battery', value: eur(b.withoutBattery.totalEur) },
        { label: 'With the battery', value: eur(b.withBattery.totalEur) },
        { label: 'Saving', value: eur(b.savingEur) },
        { label: 'Demand charge with / without', value: `${eur(b.withBattery.demandEur)} / ${eur(b.withoutBattery.demandEur)}` },
        { label: 'Hours priced / unpriced', value: `${b.pricedHours.toFixed(1)} h / ${b.unpricedHours.toFixed(1)} h` },
      ],
    },
    {
      title: 'Import peak',
      lines: [
        { label: 'This month', value: num(r.peak.importKw, 2, 'kW') },
        { label: 'Last month', value: num(r.peak.lastMonthImportKw, 2, 'kW') },
        { label: 'Change', value: signed(r.peak.changeKw, 2, 'kW') },
      ],
    },
    {
      title: 'Alarms',
      lines: [
        { label: 'Raised in the month', value: String(r.alarms.total) },
        ...r.alarms.byType.map((a) => ({ label: `${a.code} (${a.severity})`, value: String(a.count) })),
      ],
    },
  ];
}

/** What the figures mean, printed under them. */
export function monthlyReportNotes(r: MonthlyReport): string[] {
  return [
    `Month: calendar month in ${r.timeZone}${r.period.complete ? '' : `, up to ${r.period.end} (month not over)`}.`,
    `Energy: ${r.energy.basis}. Cycles: ${r.cycles.basis}.`,
    `Availability: ${r.availability.definition}.`,
    `Bill: tariff from ${r.bill.tariffSource}; spot prices from the site's plans; 15-minute windows without a price are left out of both bills.`,
    `Import peak: ${r.peak.definition}.`,
  ];
}
