// The child processes the host runs (the all-in-one's sim, edge and cloud; the agent's runtime):
// output passed through prefixed line by line, IPC messages, exits, and the stop that asks with
// SIGTERM and SIGKILLs after a budget.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { describeExit, NodeChild, terminate, type ChildExit } from '../../../runtime/process/child';

/** A child running `script` with `node -e`. */
function nodeChild(script: string, extra: Partial<ConstructorParameters<typeof NodeChild>[0]> = {}): NodeChild {
  return new NodeChild({ args: ['-e', script], env: process.env, output: 'inherit', ...extra });
}

/** Collects what is written to a stream. */
function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

/** Resolves when the child has sent its first IPC message. */
function firstMessage(): { onMessage: (m: unknown) => void; received: Promise<unknown> } {
  let resolve: (m: unknown) => void = () => undefined;
  const received = new Promise<unknown>((r) => (resolve = r));
  return { onMessage: (m) => resolve(m), received };
}

// Ignores SIGTERM, then says it is ready (so the test signals it only once the handler is in place).
const STUBBORN = "process.on('SIGTERM', () => {}); process.send('ready'); setInterval(() => {}, 1000);";
// Exits 0 on SIGTERM, after saying it is ready.
const OBEDIENT = "process.on('SIGTERM', () => process.exit(0)); process.send('ready'); setInterval(() => {}, 1000);";

describe('child processes of the host (runtime/process/child)', function () {
  this.timeout(20_000);

  describe('describeExit', () => {
    it('names the signal when a signal ended the process, the exit code otherwise', () => {
      assert.equal(describeExit({ code: null, signal: 'SIGKILL' }), 'signal SIGKILL');
      assert.equal(describeExit({ code: 3, signal: null }), 'code 3');
      assert.equal(describeExit({ code: null, signal: null }), 'code null');
    });
  });

  describe('NodeChild', () => {
    it('writes each line of the child\'s stdout and stderr behind the prefix, to the matching stream', async () => {
      const out = sink();
      const err = sink();
      const child = nodeChild("console.log('one\\ntwo'); console.error('three'); process.stdout.write('no newline at the end')", {
        output: { prefix: '[sim]', stdout: out.stream, stderr: err.stream },
      });
      await once(child.proc, 'close');
      assert.equal(out.text(), '[sim] one\n[sim] two\n[sim] no newline at the end\n');
      assert.equal(err.text(), '[sim] three\n');
    });

    it('hands over what the child sends on the IPC channel', async () => {
      const { onMessage, received } = firstMessage();
      nodeChild("process.send({ type: 'lifo4:ready', role: 'sim', ports: {} }, () => process.disconnect())", { onMessage });
      assert.deepEqual(await received, { type: 'lifo4:ready', role: 'sim', ports: {} });
    });

    it('reports the exit with its code, and is no longer running', async () => {
      const exits: ChildExit[] = [];
      const child = nodeChild('process.exit(3)', { onExit: (e) => exits.push(e) });
      assert.equal(child.running, true);
      assert.ok((child.pid ?? 0) > 0);
      assert.deepEqual(await child.exited, { code: 3, signal: null });
      assert.deepEqual(exits, [{ code: 3, signal: null }]);
      assert.equal(child.running, false);
    });

    it('runs the script in the given folder with the given environment', async () => {
      const { onMessage, received } = firstMessage();
      nodeChild('process.send([process.cwd(), process.env.LIFO4_TEST_MARK], () => process.disconnect())', {
        cwd: '/', env: { ...process.env, LIFO4_TEST_MARK: 'here' }, onMessage,
      });
      assert.deepEqual(await received, ['/', 'here']);
    });

    it('stop: SIGTERM, and a child that obeys is gone without being killed', async () => {
      const { onMessage, received } = firstMessage();
      const child = nodeChild(OBEDIENT, { onMessage });
      await received;
      let overdue = false;
      await child.stop(5000, () => (overdue = true));
      assert.equal(child.running, false);
      assert.deepEqual(await child.exited, { code: 0, signal: null });
      assert.equal(overdue, false);
    });

    it('stop: a child that ignores SIGTERM is SIGKILLed once the budget is spent, after onOverdue', async () => {
      const { onMessage, received } = firstMessage();
      const child = nodeChild(STUBBORN, { onMessage });
      await received;
      let overdue = 0;
      const started = Date.now();
      await child.stop(300, () => overdue++);
      assert.ok(Date.now() - started >= 290, `stopped after ${Date.now() - started} ms`);
      assert.equal(overdue, 1);
      assert.deepEqual(await child.exited, { code: null, signal: 'SIGKILL' });
    });

    it('stop of a child that has already exited resolves at once', async () => {
      const child = nodeChild('process.exit(0)');
      await child.exited;
      let overdue = false;
      await child.stop(10, () => (overdue = true));
      assert.equal(overdue, false);
    });

    it('kill: SIGKILL at once, SIGTERM handler or not', async () => {
      const { onMessage, received } = firstMessage();
      const child = nodeChild(STUBBORN, { onMessage });
      await received;
      child.kill();
      assert.deepEqual(await child.exited, { code: null, signal: 'SIGKILL' });
    });
  });

  describe('terminate (a process known only by its pid)', () => {
    it('waits until the process is gone, SIGKILLing it after the budget', async () => {
      const other = spawn(process.execPath, ['-e', STUBBORN], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      await once(other, 'message');
      let overdue = 0;
      await terminate(other.pid!, 300, { onOverdue: () => overdue++ });
      assert.equal(overdue, 1);
      assert.throws(() => process.kill(other.pid!, 0), /ESRCH/);
    });

    it('resolves at once for a pid that no longer exists', async () => {
      const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
      await once(gone, 'exit');
      const started = Date.now();
      await terminate(gone.pid!, 5000);
      assert.ok(Date.now() - started < 1000);
    });
  });
});
