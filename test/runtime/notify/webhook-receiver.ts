// A real HTTP server that receives webhook deliveries and checks each signature the way a
// receiver should: HMAC-SHA256 of "<timestamp>.<body>" with the secret, compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  event: string;
  body: { event: string; level: number; alarm: { id: number; code: string; siteId: string } | null };
  signatureValid: boolean;
  delivery: string;
}

export class WebhookReceiver {
  readonly hooks: ReceivedHook[] = [];
  secret = '';
  /** The status to answer with (a test makes the receiver fail for a while). */
  status = 200;
  #server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (this.status !== 200) return void res.writeHead(this.status).end();
        const ts = String(req.headers['x-lifo4-timestamp'] ?? '');
        const got = Buffer.from(String(req.headers['x-lifo4-signature'] ?? ''));
        const want = Buffer.from(`sha256=${createHmac('sha256', this.secret).update(`${ts}.${raw}`).digest('hex')}`);
        this.hooks.push({
          event: String(req.headers['x-lifo4-event'] ?? ''), body: JSON.parse(raw) as ReceivedHook['body'],
          signatureValid: got.length === want.length && timingSafeEqual(got, want), delivery: String(req.headers['x-lifo4-delivery'] ?? ''),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
