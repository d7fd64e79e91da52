// Resumable bundle download over HTTP(S): a partial file is continued with a Range request (RFC 9110
// section 14) and hashed while it streams, so the payload is read from disk once at most (the
// part already on disk when resuming). A server that ignores Range (answers 200) restarts the file.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, renameSync, statSync, truncateSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { fsyncPath } from '../../io/durable-file';

export interface DownloadOptions {
  /** CA bundle (PEM) to trust for https: URLs, e.g. the fleet CA received at provisioning. */
  ca?: string | Buffer;
  /** Refuse a body larger than this many bytes (the manifest's length for the payload). */
  maxBytes?: number;
  /** Called with each chunk's size: lets a test or the agent act in the middle of a download. */
  onProgress?: (received: number) => void;
  timeoutMs?: number;
}

function request(url: string, headers: Record<string, string>, o: DownloadOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const opts = { headers, timeout: o.timeoutMs ?? 30_000, ...(o.ca !== undefined ? { ca: o.ca } : {}) };
    const req = u.protocol === 'https:' ? httpsGet(u, opts, resolve) : u.protocol === 'http:' ? httpGet(u, opts, resolve) : null;
    if (!req) return reject(new Error(`unsupported URL scheme ${u.protocol}`));
    req.on('timeout', () => req.destroy(new Error(`no answer from ${u.origin} within ${opts.timeout} ms`)));
    req.on('error', reject);
  });
}

/** A small file, whole, into memory (manifest.json, manifest.sig). */
export async function fetchSmall(url: string, o: DownloadOptions & { maxBytes: number }): Promise<Buffer> {
  const res = await request(url, {}, o);
  if (res.statusCode !== 200) {
    res.resume();
    throw new Error(`GET ${url}: HTTP ${res.statusCode ?? '?'}`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > o.maxBytes) {
      res.destroy();
      throw new Error(`GET ${url}: more than ${o.maxBytes} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

async function hashExisting(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/**
 * Downloads url to `dest`, continuing `${dest}.part` when it exists. Resolves with the SHA-256 of
 * the whole file once it is complete, fsynced and renamed to dest.
 */
export async function downloadResumable(url: string, dest: string, o: DownloadOptions = {}): Promise<{ sha256: string; resumedFrom: number }> {
  const part = `${dest}.part`;
  let have = existsSync(part) ? statSync(part).size : 0;
  if (o.maxBytes !== undefined && have > o.maxBytes) {
    truncateSync(part, 0);
    have = 0;
  }
  const res = await request(url, have > 0 ? { Range: `bytes=${have}-` } : {}, o);
  let resumedFrom = have;
  if (res.statusCode === 416 && o.maxBytes !== undefined && have === o.maxBytes) {
    // Already complete: the previous run died between the last byte and the rename.
    res.resume();
  } else if (res.statusCode === 206 && have > 0) {
    const range = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
    if (!range || Number(range[1]) !== have) {
      res.resume();
      throw new Error(`GET ${url}: the server resumed at ${range?.[1] ?? '?'} instead of ${have}`);
    }
  } else if (res.statusCode === 200) {
    resumedFrom = 0;
    have = 0;
  } else {
    res.resume();
    throw new Error(`GET ${url}: HTTP ${res.statusCode ?? '?'}`);
  }
  const hash = createHash('sha256');
  if (resumedFrom > 0) await hashExisting(part, hash);
  if (res.statusCode !== 416) {
    let received = have;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        if (o.maxBytes !== undefined && received > o.maxBytes) return cb(new Error(`GET ${url}: more than the ${o.maxBytes} bytes the manifest names`));
        hash.update(chunk);
        o.onProgress?.(received);
        cb(null, chunk);
      },
    });
    await pipeline(res, meter, createWriteStream(part, { flags: resumedFrom > 0 ? 'a' : 'w' }));
  }
  fsyncPath(part);
  renameSync(part, dest);
  return { sha256: hash.digest('hex'), resumedFrom };
}
