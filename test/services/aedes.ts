// An in-process aedes broker for tests on a 127.0.0.1 port, optionally with username/password
// authentication. aedes 1.x is ESM only; under module node16 TypeScript keeps `await import()` as a
// real dynamic import in our CommonJS output, so it loads. halt / start / restart serve again on the
// same port with a NEW broker: like a broker without persistence, sessions and queues are lost.
import { type Server, type Socket, createServer } from 'node:net';
import type { Aedes, AedesOptions, AuthenticateError } from 'aedes' with { 'resolution-mode': 'import' };
import { LOCALHOST } from './service';

export interface AedesTestOptions {
  /** username -> password; when given, anyone else (and anonymous) is refused. */
  auth?: Record<string, string>;
  /** Anything else for Aedes.createBroker (authorizePublish, ...). `auth` wins for authenticate. */
  options?: AedesOptions;
}

export interface RunningAedes {
  host: string;
  port: number;
  url: string;
  /** The current broker instance (a new one after start / restart). */
  readonly broker: Aedes;
  readonly running: boolean;
  /** Closes every client and the listener; the port is kept for start(). */
  halt(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** aedes' error code 4 (bad user name or password) as its authenticate callback expects it. */
function badCredentials(): AuthenticateError {
  return Object.assign(new Error('bad username or password'), { returnCode: 4 as AuthenticateError['returnCode'] });
}

export async function startAedes(opts: AedesTestOptions = {}): Promise<RunningAedes> {
  const { Aedes } = await import('aedes');
  const options: AedesOptions = { ...opts.options };
  if (opts.auth) {
    const auth = opts.auth;
    options.authenticate = (_client, username, password, done) => {
      const ok = username !== undefined && Object.hasOwn(auth, username) && password?.toString('utf8') === auth[username];
      if (ok) done(null, true);
      else done(badCredentials(), false);
    };
  }

  let broker: Aedes | null = null;
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  let port = 0;

  const start = async (): Promise<void> => {
    if (server) throw new Error('aedes is already running');
    const b = await Aedes.createBroker(options);
    const s = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      b.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, LOCALHOST, () => {
        s.off('error', reject);
        resolve();
      });
    });
    const addr = s.address();
    if (typeof addr === 'object' && addr) port = addr.port;
    broker = b;
    server = s;
  };
  const halt = async (): Promise<void> => {
    const b = broker;
    const s = server;
    broker = null;
    server = null;
    if (!s || !b) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    await new Promise<void>((resolve) => b.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  await start();
  return {
    host: LOCALHOST,
    port,
    url: `mqtt://${LOCALHOST}:${port}`,
    get broker() {
      if (!broker) throw new Error('aedes is halted');
      return broker;
    },
    get running() {
      return server !== null;
    },
    halt,
    start,
    restart: async () => {
      await halt();
      await start();
    },
    stop: halt,
  };
}
