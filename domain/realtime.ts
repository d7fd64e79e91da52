// The realtime channel's contract between the cloud API (runtime/api/realtime.ts) and the dashboard
// (dashboard/src/realtime/channel.ts): where socket.io listens and the names of the events it
// pushes. One place, so the two sides cannot drift apart.

export const REALTIME_PATH = '/api/v1/realtime';

/** The events the server pushes, by what they carry. */
export const REALTIME_EVENTS = { telemetry: 'telemetry', alarm: 'alarm', ack: 'command-ack', plan: 'plan', state: 'site-state', ota: 'ota' } as const;
export type RealtimeEvent = (typeof REALTIME_EVENTS)[keyof typeof REALTIME_EVENTS];

/**
 * Sent once before the server closes a socket whose user's session ended (role, password, 2FA
 * or disabled flag changed, here or by the `lifo4 user` command): {reason}. Not a data event;
 * the client signs in again rather than reconnecting with the same token.
 */
export const REALTIME_SESSION_ENDED = 'session-ended';
