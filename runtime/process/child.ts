// The host runs Node.js child processes and stops them: `lifo4 start` runs the simulator, the edge
// agent and the cloud; the edge agent runs the runtime of its current release. What they share is
// here: a child with an IPC channel (its ready and health messages come over it), its output passed
// through or prefixed line by line, and the stop that asks with SIGTERM and SIGKILLs what still
// lives after a budget. When a child that exited is started again is each supervisor's own policy.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** An exit as log lines name it: "code 1" or "signal SIGKILL". */
export function describeExit(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

/** Lines of the child's stdout and stderr written to `stdout` and `stderr` (default: ours), each behind `prefix` and a space. */
export interface PrefixedOutput {
  prefix: string;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export interface NodeChildOptions {
  /** The script and its arguments, run by this process's Node.js binary. */
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** 'inherit': the child writes to our stdout and stderr itself. */
  output: 'inherit' | PrefixedOutput;
  /** Each message the child sends over the IPC channel. */
  onMessage?: (message: unknown) => void;
  /** The child could not be started, or not be signalled. */
  onError?: (err: Error) => void;
  onExit?: (exit: ChildExit) => void;
}

/** A Node.js child process with an IPC channel, started at construction. */
export class NodeChild {
  readonly proc: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ChildExit>;

  constructor(o: NodeChildOptions) {
    const out = o.output === 'inherit' ? 'inherit' : 'pipe';
    this.proc = spawn(process.execPath, [...o.args], {
      ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
      stdio: ['ignore', out, out, 'ipc'],
      env: o.env,
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    if (o.output !== 'inherit') {
      prefixLines(this.proc.stdout, o.output.prefix, o.output.stdout ?? process.stdout);
      prefixLines(this.proc.stderr, o.output.prefix, o.output.stderr ?? process.stderr);
    }
    const { onMessage, onError, onExit } = o;
    if (onMessage) this.proc.on('message', (m: unknown) => onMessage(m));
    if (onError) this.proc.on('error', onError);
    if (onExit) this.proc.once('exit', (code, signal) => onExit({ code, signal }));
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Not yet exited. */
  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after `killAfterMs` (calling `onOverdue` first); resolves when the child is gone. */
  async stop(killAfterMs: number, onOverdue?: () => void): Promise<void> {
    if (!this.running || this.proc.pid === undefined) return;
    await terminate(this.proc.pid, killAfterMs, { exited: this.exited, ...(onOverdue ? { onOverdue } : {}) });
  }

  /** SIGKILL at once: for when waiting is no longer wanted. */
  kill(): void {
    this.proc.kill('SIGKILL');
  }
}

function prefixLines(stream: NodeJS.ReadableStream | null, prefix: string, out: NodeJS.WritableStream): void {
  if (!stream) return;
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => out.write(`${prefix} ${line}\n`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops process `pid`: SIGTERM, then SIGKILL if it still lives after `killAfterMs` (calling
 * `onOverdue` first); resolves when it is gone. `exited` tells when a child of ours has exited;
 * any other process is polled. A process that is already gone resolves at once.
 */
export async function terminate(pid: number, killAfterMs: number, opts: { exited?: Promise<unknown>; onOverdue?: () => void } = {}): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const gone = opts.exited ?? (async () => {
    while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  })();
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      opts.onOverdue?.();
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      resolve();
    }, killAfterMs);
    // A kill still pending never keeps this process alive by itself.
    timer.unref();
  });
  await Promise.race([gone, killed]);
  clearTimeout(timer);
  await gone;
}
