// command-in's settings as the editor stores them; the site key is a credential.
import { z } from 'zod';
import { SiteIdSchema } from '../../domain/contracts';

export const CommandInConfigSchema = z.object({
  link: z.string().min(1, 'pick an mqtt-link'),
  /** '' = the link's site id. */
  siteId: z.union([z.literal(''), SiteIdSchema]).default(''),
  /** Directory of the site's buffer file (the replay ledger is a table in it), '' = <userDir>/buffer. */
  dir: z.string().default(''),
  /** How long 'mode standby' holds 0 W when the command names no duration, s. */
  standbyS: z.coerce.number().positive().max(86_400).default(3600),
  /** How far the cloud's clock may be ahead of this one, s. */
  clockSkewS: z.coerce.number().min(0).max(3600).default(30),
});
export type CommandInConfig = z.infer<typeof CommandInConfigSchema>;
