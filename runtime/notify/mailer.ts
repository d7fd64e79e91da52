// Sending one e-mail over SMTP with nodemailer (`--smtp-url`, `--smtp-from`). The URL carries the
// server, the port, TLS (smtps: from the first byte; smtp: STARTTLS when the server offers it) and
// the credentials; it is never logged.
import nodemailer from 'nodemailer';
import type { MailPayload } from './outbox';

export interface MailSender {
  send(to: string, mail: MailPayload): Promise<void>;
  close(): void;
}

export function smtpSender(url: string, from: string): MailSender {
  // Short timeouts: a server that does not answer is a failed attempt, retried by the queue.
  const transport = nodemailer.createTransport({ url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 });
  return {
    async send(to, mail) {
      await transport.sendMail({
        from, to, subject: mail.subject, text: mail.text,
        attachments: (mail.attachments ?? []).map((a) => ({ filename: a.filename, content: Buffer.from(a.contentBase64, 'base64'), ...(a.contentType ? { contentType: a.contentType } : {}) })),
      });
    },
    close: () => transport.close(),
  };
}

/** The server part of an SMTP URL, without credentials, for logs and the API. */
export function smtpServerOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}`;
  } catch {
    return 'smtp (unparsable URL)';
  }
}
