// What each permission lets a person do, in words, for the account page. Typed against the one
// permission table (domain/permissions.ts), so a new permission without a sentence fails the build.
import type { Permission } from '../../auth/permissions';

export const PERMISSION_LABELS: Record<Permission, string> = {
  'sites:read': 'See sites and their state',
  'telemetry:read': 'See live and stored telemetry',
  'plans:read': 'See schedules (plans)',
  'alarms:read': 'See alarms',
  'commands:read': 'See commands and their outcomes',
  'commands:send': 'Send commands: setpoint, mode, emergency stop',
  'commands:reset': 'Reset an emergency stop',
  'alarms:ack': 'Acknowledge alarms',
  'alarms:silence': 'Silence alarms',
  'financial:read': 'See financial reports',
  'settings:read': "See a site's strategy settings",
  'settings:write': "Change sites' strategy settings (arbitrage, reserve, SoC window, peak shaving, tariff, black start)",
  'editor:read': 'Open the cloud flow editor',
  'editor:deploy': 'Deploy cloud flows',
  'sites:manage': 'Add and change sites',
  'users:read': 'See users',
  'users:manage': 'Add and change users',
  'audit:read': 'Read the audit log',
  'metrics:read': 'Read service metrics',
  'webhooks:manage': "Manage the organisation's alarm webhooks",
  'orgs:manage': 'Manage organisations',
  'users:reset-2fa': "Turn off another user's two-factor sign-in",
  'ota:deploy': 'Roll out edge software updates (OTA)',
};

/** The permission in words, its id kept for support questions ("sites:read"). */
export function permissionLabel(p: Permission): string {
  return PERMISSION_LABELS[p];
}
