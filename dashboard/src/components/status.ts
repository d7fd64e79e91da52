// Status words and tones shared by the views: one mapping, so "offline" looks the same everywhere.
import type { Tone } from './StatusChip.vue';

export function siteStateTone(state: string): Tone {
  return state === 'online' ? 'ok' : state === 'offline' ? 'crit' : 'idle';
}

export function modeTone(mode: string | null | undefined): Tone {
  switch (mode) {
    case 'NORMAL': return 'ok';
    case 'DERATED': return 'warn';
    case 'SAFE_MODE':
    case 'ESTOP': return 'crit';
    default: return 'idle';
  }
}

export function severityTone(severity: string | null | undefined): Tone {
  return severity === 'critical' ? 'crit' : severity === 'warning' ? 'warn' : severity === 'info' ? 'info' : 'idle';
}

export const LEVEL_NAMES: Record<number, string> = { 1: 'SAFETY', 2: 'GRID', 3: 'OPERATOR', 4: 'SITE', 5: 'ECONOMIC' };

export function levelTone(level: number | null | undefined): Tone {
  if (level === 1) return 'crit';
  if (level === 2) return 'warn';
  if (level === 3) return 'info';
  return level ? 'ok' : 'idle';
}
