// The settings page's pure logic: which sites the page edits (from ?sites=a,b), the form state of a
// document, the quick checks a person gets while typing (the site's own check against its physical
// limits is the one that counts, and its reasons are shown as the site gave them), and how each
// site's answer reads.
import type { SettingsOutcome, SiteSettingsFields, SiteSettingsView } from '../../api/settings-types';

export type { SettingsOutcome, SiteSettingsFields, SiteSettingsView };

const SITE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The site ids of ?sites=a,b (or repeated ?sites=a&sites=b), each once, malformed ones dropped. */
export function siteIdsOf(query: unknown): string[] {
  const parts = (Array.isArray(query) ? query : [query]).flatMap((q) => (typeof q === 'string' ? q.split(',') : []));
  return [...new Set(parts.map((s) => s.trim()).filter((s) => SITE_ID.test(s)))];
}

/** Where the form starts: the first site's document, else the defaults it came with. */
export function initialFields(views: readonly SiteSettingsView[]): SiteSettingsFields | null {
  const first = views[0];
  if (!first) return null;
  const s = first.settings;
  const src: SiteSettingsFields = s
    ? { arbitrageEnabled: s.arbitrageEnabled, reserveSocPct: s.reserveSocPct, socMinPct: s.socMinPct, socMaxPct: s.socMaxPct, peakShavingMode: s.peakShavingMode, peakShavingThresholdKw: s.peakShavingThresholdKw, tariff: s.tariff, blackStartEnabled: s.blackStartEnabled }
    : first.defaults;
  return { ...src, tariff: { ...src.tariff } };
}

const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);

/** What is plainly wrong before anything is sent (the site checks the rest against its limits). */
export function formProblems(f: SiteSettingsFields): string[] {
  const out: string[] = [];
  const pct: [string, unknown][] = [['Reserve SoC', f.reserveSocPct], ['SoC window minimum', f.socMinPct], ['SoC window maximum', f.socMaxPct]];
  for (const [name, v] of pct) if (!finite(v) || v < 0 || v > 100) out.push(`${name}: a number 0-100 %`);
  if (finite(f.socMinPct) && finite(f.socMaxPct) && f.socMinPct >= f.socMaxPct) out.push('SoC window: the minimum must be below the maximum');
  if (!finite(f.peakShavingThresholdKw) || f.peakShavingThresholdKw < 0) out.push('Peak-shaving threshold: a number of kW, 0 or more');
  const t = f.tariff;
  if (!finite(t.importAdderEurPerKwh) || t.importAdderEurPerKwh < -1 || t.importAdderEurPerKwh > 10) out.push('Import adder: -1 to 10 EUR/kWh');
  if (!finite(t.vatFactor) || t.vatFactor < 1 || t.vatFactor > 2) out.push('VAT factor: 1 to 2');
  if (!finite(t.feedInEurPerKwh) || t.feedInEurPerKwh < 0 || t.feedInEurPerKwh > 10) out.push('Feed-in tariff: 0 to 10 EUR/kWh');
  if (!finite(t.demandChargeEurPerKw) || t.demandChargeEurPerKw < 0 || t.demandChargeEurPerKw > 1000) out.push('Demand charge: 0 to 1000 EUR/kW');
  return out;
}

/** One line per site answer: what the site really did. */
export function outcomeText(o: SettingsOutcome): string {
  switch (o.outcome) {
    case 'applied':
      return `Applied: the site runs on settings version ${o.settings.version}.`;
    case 'rejected':
      return `Refused by the site, its settings unchanged: ${o.reason.replace(/^site-settings: /, '')}`;
    case 'timeout':
      return `No answer from the site in time: it may or may not have applied them (${o.reason}).`;
    case 'error':
      return `Not sent: ${o.reason}`;
  }
}

/** Where a site's settings come from, in words. */
export function sourceText(v: SiteSettingsView): string {
  if (!v.settings) return 'No settings document: the site runs on its flow\'s node configuration.';
  return `Settings version ${v.settings.version}, applied ${v.appliedAt ? new Date(v.appliedAt).toLocaleString() : ''} by ${v.appliedBy ?? 'unknown'}.`;
}
