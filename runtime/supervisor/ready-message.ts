// The message a child process sends its supervisor (over the IPC channel) once it serves.
import { z } from 'zod';

export const ReadyMessageSchema = z.object({
  type: z.literal('lifo4:ready'),
  role: z.enum(['sim', 'edge', 'cloud']),
  /** The ports actually bound, by setting name (port, edgePort, modbusPort, controlPort). */
  ports: z.record(z.string(), z.number().int().min(1).max(65535)),
});
export type ReadyMessage = z.infer<typeof ReadyMessageSchema>;

/** Tells the supervisor, if this process has one, that it is ready. */
export function reportReady(message: Omit<ReadyMessage, 'type'>): void {
  process.send?.({ type: 'lifo4:ready', ...message } satisfies ReadyMessage);
}
