// Decisions in the operator's words: powers in kW with charge or discharge, limits by what sets
// them ("the PCS rating"), levels by name. The dashboard shows these sentences as they are.
import { LEVEL_NAMES, type Level, type Restriction } from '../contracts';

/** 4990 -> "4.99 kW", 50000 -> "50 kW", 0 -> "0 kW": magnitudes; the direction is said in words. */
export function kw(w: number): string {
  const k = Math.abs(w) / 1000;
  const text = k >= 100 ? k.toFixed(0) : k >= 10 ? k.toFixed(1) : k.toFixed(2);
  return `${text.replace(/\.?0+$/, '') || '0'} kW`;
}

/** "discharge 2 kW", "charge 3 kW", "0 kW". */
export function powerWords(w: number): string {
  if (Math.round(w) === 0) return '0 kW';
  return `${w > 0 ? 'discharge' : 'charge'} ${kw(w)}`;
}

const CAUSE_WORDS: Record<string, string> = {
  PCS_RATING: 'the PCS rating',
  C_RATE: "the battery's C-rate",
  BMS_CURRENT_LIMIT: "the BMS's current limit",
  BMS_POWER_LIMIT: "the BMS's power rating",
  CELL_VOLTAGE_TAPER: 'the cell voltage taper',
  TEMPERATURE_UNMEASURED: 'the derating without a cell temperature',
  CHARGE_TEMPERATURE: 'the charge temperature window',
  DISCHARGE_TEMPERATURE: 'the discharge temperature derating',
  SOC_HIGH: 'the battery being full (SoC ceiling)',
  SOC_LOW: 'the battery being empty (SoC floor)',
};

/** A restriction cause in words; an unknown code is shown as it is. */
export function causeWords(cause: string): string {
  return CAUSE_WORDS[cause] ?? cause;
}

/** "the PCS rating and the BMS's current limit". */
export function causesWords(causes: readonly string[]): string {
  const words = [...new Set(causes)].map(causeWords);
  if (words.length <= 1) return words[0] ?? 'the safety envelope';
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1] ?? ''}`;
}

/** The restrictions that set a direction's limit: those at the smallest power. */
export function bindingCauses(restrictions: readonly Restriction[], direction: Restriction['direction'], limitW: number): string[] {
  return restrictions.filter((r) => r.direction === direction && r.limitW <= limitW + 0.5).map((r) => r.cause);
}

/** "the operator" or "arbitrage (ECONOMIC level)". */
export function requester(source: string, level: number | null): string {
  const name = level !== null ? LEVEL_NAMES[level as Level] : undefined;
  if (!name) return source;
  return source.toLowerCase() === name.toLowerCase() ? `the ${source}` : `${source} (${name} level)`;
}

/** "the operator ..." as a sentence's start; a source's own name keeps its spelling. */
export function sentence(text: string): string {
  return text.startsWith('the ') ? `The ${text.slice(4)}` : text;
}
