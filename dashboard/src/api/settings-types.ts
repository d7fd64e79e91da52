// What the strategy settings routes answer (runtime/api/settings-handlers.ts). The document's own
// types come from the domain (domain/site-settings/settings.ts), as types only: nothing of zod
// reaches the bundle.
import type { SiteSettings, SiteSettingsFields } from '../../../domain/site-settings/settings';

export type { SiteSettings, SiteSettingsFields };

/** GET /sites/{id}/settings: the document the site last applied, or none (its flow's node configuration). */
export interface SiteSettingsView {
  siteId: string;
  source: 'document' | 'node-config';
  settings: SiteSettings | null;
  appliedBy: string | null;
  appliedAt: string | null;
  commandId: string | null;
  /** Where an editor starts when the site has no document: the shipped flow's configuration. */
  defaults: SiteSettingsFields;
}

/** What one site did with a document. */
export type SettingsOutcome =
  | { siteId: string; outcome: 'applied'; settings: SiteSettings; commandId: string }
  | { siteId: string; outcome: 'rejected' | 'timeout' | 'error'; reason: string; commandId: string };
