// A real SMTP server for the tests (the smtp-server package) on 127.0.0.1: it keeps every mail it
// receives with its envelope, unfolded headers and raw text. stop() and start() again on the same
// port stand for a mail server that is down for a while.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  raw: string;
  at: number;
}

export class Mailbox {
  readonly mails: ReceivedMail[] = [];
  #server: SMTPServer | null = null;
  #port = 0;

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      // Plain SMTP on loopback, no login: what a local relay offers.
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const headers = raw.split(/\r?\n\r?\n/)[0]?.replace(/\r?\n[ \t]+/g, ' ') ?? '';
          const subject = /^subject: (.*)$/im.exec(headers)?.[1] ?? '';
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject, raw, at: Date.now(),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    server.on('error', () => undefined);
    this.#port = (server.server.address() as AddressInfo).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  to(address: string): ReceivedMail[] {
    return this.mails.filter((m) => m.to.includes(address));
  }

  /** Waits until `test` holds for the mails received, or fails after `ms` with what arrived. */
  async until(test: (mails: ReceivedMail[]) => boolean, what: string, ms = 10_000): Promise<ReceivedMail[]> {
    const end = Date.now() + ms;
    for (;;) {
      if (test(this.mails)) return this.mails;
      if (Date.now() > end) throw new Error(`${what} did not arrive within ${ms} ms; received: ${JSON.stringify(this.mails.map((m) => ({ to: m.to, subject: m.subject })))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
