import { describe, expect, it } from 'vitest';
import { formProblems, initialFields, outcomeText, siteIdsOf, sourceText, type SiteSettingsFields, type SiteSettingsView } from '../../src/views/settings/settings-form';

const fields: SiteSettingsFields = {
  arbitrageEnabled: true, reserveSocPct: 20, socMinPct: 5, socMaxPct: 95, peakShavingMode: 'off', peakShavingThresholdKw: 5,
  tariff: { importAdderEurPerKwh: 0.2, vatFactor: 1, exportPrice: 'feed-in', feedInEurPerKwh: 0.08, demandChargeEurPerKw: 0 }, blackStartEnabled: true,
};
const view = (over: Partial<SiteSettingsView> = {}): SiteSettingsView => ({
  siteId: 'site-1', source: 'node-config', settings: null, appliedBy: null, appliedAt: null, commandId: null, defaults: fields, ...over,
});

describe('settings form', () => {
  it('reads the selected sites from the query, each once, and drops what is no site id', () => {
    expect(siteIdsOf('site-1,site-2,site-1')).toEqual(['site-1', 'site-2']);
    expect(siteIdsOf(['a', 'b,c'])).toEqual(['a', 'b', 'c']);
    expect(siteIdsOf('ok,../etc,')).toEqual(['ok']);
    expect(siteIdsOf(undefined)).toEqual([]);
  });

  it("starts from the first site's document, else from the defaults, as a copy", () => {
    expect(initialFields([])).toBeNull();
    expect(initialFields([view()])).toEqual(fields);
    const withDoc = view({ source: 'document', settings: { ...fields, reserveSocPct: 60, v: 1, version: 3 } });
    const f = initialFields([withDoc]);
    expect(f?.reserveSocPct).toBe(60);
    expect(f && 'version' in f).toBe(false);
    f!.tariff.vatFactor = 1.5;
    expect(withDoc.settings?.tariff.vatFactor).toBe(1);
  });

  it('finds what is plainly wrong before sending, and nothing in a good document', () => {
    expect(formProblems(fields)).toEqual([]);
    expect(formProblems({ ...fields, socMinPct: 90, socMaxPct: 20 })).toEqual(['SoC window: the minimum must be below the maximum']);
    expect(formProblems({ ...fields, reserveSocPct: Number.NaN, tariff: { ...fields.tariff, vatFactor: 3 } })).toEqual(['Reserve SoC: a number 0-100 %', 'VAT factor: 1 to 2']);
  });

  it("says what the site did, with the site's own reasons for a refusal", () => {
    expect(outcomeText({ siteId: 's', outcome: 'applied', settings: { ...fields, v: 1, version: 4 }, commandId: 'c' })).toBe('Applied: the site runs on settings version 4.');
    expect(outcomeText({ siteId: 's', outcome: 'rejected', reason: "site-settings: refused, the settings in force stay: reserve SoC 1 % lies outside the SoC window 5-95 %", commandId: 'c' }))
      .toBe("Refused by the site, its settings unchanged: refused, the settings in force stay: reserve SoC 1 % lies outside the SoC window 5-95 %");
    expect(outcomeText({ siteId: 's', outcome: 'timeout', reason: 'no ack within 30 s', commandId: 'c' })).toMatch(/may or may not have applied/);
  });

  it('says where the settings come from', () => {
    expect(sourceText(view())).toMatch(/node configuration/);
    expect(sourceText(view({ source: 'document', settings: { ...fields, v: 1, version: 2 }, appliedBy: 'm@x', appliedAt: '2026-12-07T18:00:00Z' }))).toMatch(/version 2, applied .* by m@x/);
  });
});
