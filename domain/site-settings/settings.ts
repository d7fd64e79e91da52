// A site's strategy settings as one versioned document (README, "Remote strategy settings"): what
// the dashboard edits, the cloud signs into a 'settings' command, the edge checks against the
// site's physical limits, keeps on disk and hands to its strategy nodes. A strategy node with no
// document uses its own node configuration. The document only parameterises the strategies (levels
// 2, 4 and 5): it holds no power, no level and no safety limit, so the envelope and the arbiter's
// order stay what they are whatever it says.
import { z } from 'zod';
import { LFP_DEFAULTS } from '../lfp/limits';
import { DEFAULT_TARIFF, SiteTariffSchema, type SiteTariff } from '../tariff/tariff';

const pct = z.number().finite().min(0).max(100);

export const PEAK_SHAVING_MODES = ['off', 'fixed', 'auto'] as const;

/** What an editor of the settings sends: every field, no version (the cloud numbers them). */
export const SiteSettingsFieldsSchema = z.strictObject({
  /** Whether the arbitrage schedule (level 5) runs. */
  arbitrageEnabled: z.boolean(),
  /** SoC the strategies keep for backup: arbitrage and peak shaving never plan below it, %. */
  reserveSocPct: pct,
  /** The SoC window the strategies plan in, %; the safety envelope still has the last word. */
  socMinPct: pct,
  socMaxPct: pct,
  /** 'off' stops peak shaving (level 4); 'fixed' holds the threshold; 'auto' learns one, never below the threshold. */
  peakShavingMode: z.enum(PEAK_SHAVING_MODES),
  peakShavingThresholdKw: z.number().finite().min(0).max(100_000),
  tariff: SiteTariffSchema.strict(),
  /** Whether black start (level 2) may take the site into an island on a grid loss. */
  blackStartEnabled: z.boolean(),
});
export type SiteSettingsFields = z.infer<typeof SiteSettingsFieldsSchema>;

/** The document: the fields, its format `v` and its `version` (1, 2, ... per site, from the cloud). */
export const SiteSettingsSchema = SiteSettingsFieldsSchema.extend({
  v: z.literal(1),
  version: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});
export type SiteSettings = z.infer<typeof SiteSettingsSchema>;

/**
 * What the dashboard offers when a site has no document yet: the shipped edge flow's node
 * configuration (arbitrage on, peak shaving off until enabled, the LFP SoC window, black start on).
 */
export const DEFAULT_SETTINGS_FIELDS: Readonly<SiteSettingsFields> = Object.freeze({
  arbitrageEnabled: true,
  reserveSocPct: 20,
  socMinPct: LFP_DEFAULTS.socMinPct,
  socMaxPct: LFP_DEFAULTS.socMaxPct,
  peakShavingMode: 'off',
  peakShavingThresholdKw: 5,
  tariff: { ...DEFAULT_TARIFF },
  blackStartEnabled: true,
});

/** The site's physical limits a document must fit, as the edge knows them. */
export interface SiteLimits {
  /** The battery's SoC window (the LFP profile's, domain/lfp/limits.ts), %. */
  socMinPct: number;
  socMaxPct: number;
  /** The narrowest SoC window that leaves the strategies room to work, %-points. */
  minWindowPct: number;
  /** The site's grid connection, kW: a peak-shaving threshold above it shaves nothing; null = unknown. */
  gridConnectionKw: number | null;
}

export const DEFAULT_SITE_LIMITS: Readonly<SiteLimits> = Object.freeze({
  socMinPct: LFP_DEFAULTS.socMinPct,
  socMaxPct: LFP_DEFAULTS.socMaxPct,
  minWindowPct: 10,
  gridConnectionKw: null,
});

/** Why a document does not fit the site, one sentence each; empty when it fits. */
export function settingsRefusals(s: SiteSettingsFields, limits: SiteLimits): string[] {
  const out: string[] = [];
  if (s.socMinPct < limits.socMinPct) out.push(`SoC window minimum ${s.socMinPct} % is below the battery's lowest SoC of ${limits.socMinPct} %`);
  if (s.socMaxPct > limits.socMaxPct) out.push(`SoC window maximum ${s.socMaxPct} % is above the battery's highest SoC of ${limits.socMaxPct} %`);
  if (s.socMaxPct - s.socMinPct < limits.minWindowPct) out.push(`SoC window ${s.socMinPct}-${s.socMaxPct} % is narrower than ${limits.minWindowPct} %-points`);
  if (s.reserveSocPct < s.socMinPct || s.reserveSocPct > s.socMaxPct) out.push(`reserve SoC ${s.reserveSocPct} % lies outside the SoC window ${s.socMinPct}-${s.socMaxPct} %`);
  if (limits.gridConnectionKw !== null && s.peakShavingThresholdKw > limits.gridConnectionKw) {
    out.push(`peak-shaving threshold ${s.peakShavingThresholdKw} kW is above the grid connection of ${limits.gridConnectionKw} kW`);
  }
  return out;
}

export type SettingsCheck = { ok: true; settings: SiteSettings } | { ok: false; reasons: string[] };

/** Parses and checks a document against the site's limits: what the edge does before applying one. */
export function checkSettings(raw: unknown, limits: SiteLimits): SettingsCheck {
  const parsed = SiteSettingsSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reasons: parsed.error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`) };
  const reasons = settingsRefusals(parsed.data, limits);
  return reasons.length ? { ok: false, reasons } : { ok: true, settings: parsed.data };
}

// ------------------------------------------------------------ what each strategy takes from it

export interface ArbitrageSettingsPart {
  enabled: boolean;
  /** The arbitrage plans inside [max(window min, reserve), window max]. */
  socMinPct: number;
  socMaxPct: number;
  tariff: SiteTariff;
}

export function arbitragePart(s: SiteSettingsFields): ArbitrageSettingsPart {
  return { enabled: s.arbitrageEnabled, socMinPct: Math.max(s.socMinPct, s.reserveSocPct), socMaxPct: s.socMaxPct, tariff: s.tariff };
}

export interface PeakShavingSettingsPart {
  enabled: boolean;
  mode: 'fixed' | 'auto';
  thresholdKw: number;
  reserveSocPct: number;
  /** Recharging stops at the window's top. */
  rechargeToSocPct: number;
}

/** `mode` keeps the node's own mode when the document switches peak shaving off. */
export function peakShavingPart(s: SiteSettingsFields, nodeMode: 'fixed' | 'auto'): PeakShavingSettingsPart {
  return {
    enabled: s.peakShavingMode !== 'off', mode: s.peakShavingMode === 'off' ? nodeMode : s.peakShavingMode,
    thresholdKw: s.peakShavingThresholdKw, reserveSocPct: s.reserveSocPct, rechargeToSocPct: s.socMaxPct,
  };
}

/** msg.topic of the effective settings inside an edge flow (site-settings -> strategy nodes, site-status). */
export const SITE_SETTINGS_MSG_TOPIC = 'site-settings';

/** The effective settings as the edge publishes them (retained) and the sidebar shows them. */
export const EffectiveSettingsSchema = z.object({
  v: z.literal(1),
  siteId: z.string().min(1).max(64),
  /** 'document': the strategies follow `settings`; 'node-config': no document, each node its own configuration. */
  source: z.enum(['document', 'node-config']),
  settings: SiteSettingsSchema.nullable(),
  /** Who sent the document in force, when, and with which command. */
  appliedBy: z.string().max(256).nullable(),
  appliedAt: z.number().int().nonnegative().nullable(),
  commandId: z.string().max(128).nullable(),
  /** The site's limits the document was checked against. */
  limits: z.object({ socMinPct: pct, socMaxPct: pct, minWindowPct: pct, gridConnectionKw: z.number().nonnegative().nullable() }),
  /** The last document refused, with why (the settings in force stayed). */
  lastRefusal: z.object({ commandId: z.string().max(128).nullable(), at: z.number().int().nonnegative(), reasons: z.array(z.string()) }).nullable(),
});
export type EffectiveSettings = z.infer<typeof EffectiveSettingsSchema>;
