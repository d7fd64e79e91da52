// Editor config arrives as strings or numbers (an <input> gives strings, flow JSON may hold
// either): these zod helpers coerce and bound the fields the device nodes share.
import { z } from 'zod';
import { describeIssues } from '../../domain/contracts';

export const unitIdField = z.coerce.number().int().min(0).max(255);
export const intervalField = z.coerce.number().int().min(100).max(3_600_000);
export const siteIdField = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');
export const deviceIdField = z.string().max(128).default('');
/** '' = not set; otherwise a non-negative number. */
export const optionalNonNegative = z
  .union([z.literal(''), z.coerce.number().finite().nonnegative()])
  .optional()
  .transform((v) => (v === '' || v === undefined ? null : v));

export class NodeConfigError extends Error {
  override name = 'NodeConfigError';
}

/** Parse a node's config or throw one error naming every bad field. */
export function parseConfig<T extends z.ZodType>(schema: T, type: string, raw: unknown): z.infer<T> {
  const r = schema.safeParse(raw);
  if (!r.success) throw new NodeConfigError(`${type}: bad configuration: ${describeIssues(r.error)}`);
  return r.data;
}
