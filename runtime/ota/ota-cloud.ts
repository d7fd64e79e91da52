// The cloud's OTA side assembled: the bundle store (<dataDir>/ota/bundles/<version>/, what
// `lifo4 image build --out` writes there), the roll-out controller fed by the agents' reports, the
// provisioning service, and the Express router that serves bundle files with Range (resumable
// downloads) at /api/v1/ota/bundles/<version>/<token>/<file>. The token is signed per site and
// bundle and expires (download-tokens.ts): every notice sent carries a fresh one, so only sites
// told to install a bundle download it; the route is rate-limited per address.
import type { KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { DownloadTokens } from './download-tokens';
import type { CloudDb } from '../cloud-db/cloud-db';
import { openLease, type Lease } from '../cloud-db/lease';
import { BUNDLE_FILES, MANIFEST_FILE, SIGNATURE_FILE, VersionSchema, parseManifest, type Manifest } from './manifest';
import { OTA_STATUS_FILTER, OtaStatusSchema, type OtaNotice, type OtaStatus } from './messages';
import { loadOrCreateFleetCa, ProvisioningService, type FleetCa } from './provisioning';
import { RolloutController } from './rollout';
import { bundleStoreDir } from './bundle-store';
import { manifestSignatureValid, readSigningPublicKey, readSigningPublicPem } from './signing-key';

/** How the cloud reaches the sites: publish a notice, hear the agents' reports. */
export interface OtaTransport {
  publish(topic: string, payload: string): Promise<void>;
  /** Subscribes to `filter` (OTA_STATUS_FILTER); returns the unsubscribe. */
  subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): () => void;
}

export interface OtaCloudOptions {
  dataDir: string;
  db: CloudDb;
  transport: OtaTransport | null;
  /** Base the sites download from, e.g. https://cloud.example/api/v1 (notices carry <base>/ota/bundles/<version>). */
  publicUrl: string;
  /** Broker endpoint handed to provisioned devices. */
  mqttUrl: string;
  now?: () => number;
  /** Bundle file requests per address and minute (default 120: a few resumed downloads). */
  downloadsPerMinute?: number;
  /** How often running roll-outs are evaluated, ms (default 10 s). */
  tickMs?: number;
  log?: (line: string) => void;
  changed?: (id: string) => void;
  /**
   * The roll-outs are evaluated where this lease is held (default: the 'ota-rollout' lease on
   * `db`, given up by close(); always held on SQLite).
   */
  lease?: Lease;
}

export interface BundleInfo {
  version: string;
  sequence: number;
  arch: string;
  node: string;
  payloadBytes: number;
  payloadSha256: string;
}

export class OtaCloud {
  readonly rollouts: RolloutController;
  readonly bundlesDir: string;
  readonly fileRouter: Router;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  /** Base URL in notices; the runtime may set it once its server listens. */
  publicUrl: string;
  private readonly tokens: DownloadTokens;
  private readonly lease: Lease;

  private constructor(
    private readonly o: OtaCloudOptions,
    readonly provisioning: ProvisioningService,
  ) {
    this.bundlesDir = bundleStoreDir(o.dataDir);
    this.publicUrl = o.publicUrl;
    const transport = o.transport;
    this.lease = o.lease ?? openLease(o.db, 'ota-rollout', o.log ? { log: o.log } : {});
    this.rollouts = new RolloutController({
      db: o.db,
      lease: this.lease,
      notify: (n: OtaNotice) => (transport ? transport.publish(`lifo4/${n.siteId}/ota`, JSON.stringify(this.signedNotice(n))) : Promise.reject(new Error('no MQTT transport for OTA notices'))),
      ...(o.now ? { now: o.now } : {}),
      ...(o.log ? { log: o.log } : {}),
      ...(o.changed ? { changed: o.changed } : {}),
    });
    this.unsubscribe = transport
      ? transport.subscribe(OTA_STATUS_FILTER, (topic, payload) => {
          let raw: unknown;
          try {
            raw = JSON.parse(payload.toString('utf8'));
          } catch {
            return;
          }
          const r = OtaStatusSchema.safeParse(raw);
          // A site speaks only for itself: the topic's site id must be the report's.
          if (r.success && topic === `lifo4/${r.data.siteId}/ota/status`) void this.onStatus(r.data);
        })
      : () => undefined;
    this.timer = setInterval(() => {
      this.rollouts.tick().catch((err: unknown) => (o.log ?? console.error)(`ota: roll-out tick: ${String(err)}`));
    }, o.tickMs ?? 10_000);
    this.timer.unref();
    this.tokens = new DownloadTokens(o.dataDir, o.now);
    const files = express.Router();
    const limit = rateLimit({
      windowMs: 60_000, limit: o.downloadsPerMinute ?? 120, standardHeaders: 'draft-7', legacyHeaders: false,
      keyGenerator: (req) => ipKeyGenerator(req.ip ?? ''),
      handler: (_req, res) => void res.status(429).json({ error: 'rate_limited', message: 'too many bundle downloads from this address; try again in a minute' }),
    });
    files.get('/ota/bundles/:version/:file', limit, (_req, res) => {
      res.status(401).json({ error: 'unauthorized', message: 'bundle files are served only under the signed URL of a notice' });
    });
    files.get('/ota/bundles/:version/:token/:file', limit, (req, res) => {
      const params = req.params as Record<'version' | 'token' | 'file', string>;
      const version = VersionSchema.safeParse(params.version);
      if (!version.success || !this.tokens.valid(params.token, version.data)) {
        return void res.status(401).json({ error: 'unauthorized', message: 'the download URL is not valid (expired, or not for this bundle)' });
      }
      const file = params.file;
      if (!(BUNDLE_FILES as readonly string[]).includes(file) || !existsSync(join(this.bundlesDir, version.data, file))) {
        return void res.status(404).json({ error: 'not_found', message: 'no such bundle file' });
      }
      // sendFile answers Range requests (206) so a device resumes a broken download.
      res.sendFile(join(this.bundlesDir, version.data, file), { acceptRanges: true, dotfiles: 'deny', cacheControl: false });
    });
    this.fileRouter = files;
  }

  /** The fleet signing key and CA are made on first use (first `image build`, first provisioning), not at start. */
  static create(o: OtaCloudOptions): Promise<OtaCloud> {
    let ca: Promise<FleetCa> | null = null;
    let cloud: OtaCloud | null = null;
    const provisioning = new ProvisioningService({
      db: o.db, mqttUrl: o.mqttUrl, ...(o.now ? { now: o.now } : {}),
      ca: () => (ca ??= loadOrCreateFleetCa(o.dataDir)),
      // Only the public half: the private one may live with an offline signer.
      fleetKeyPem: () => readSigningPublicPem(o.dataDir),
      currentBundle: (siteId) => cloud?.currentBundleNotice(siteId) ?? null,
    });
    cloud = new OtaCloud(o, provisioning);
    return Promise.resolve(cloud);
  }

  /** The fleet's public key, null before any bundle was signed here. */
  private get pub(): KeyObject | null {
    return readSigningPublicKey(this.o.dataDir);
  }

  /** Resolves once the report is taken (or, logged, refused). */
  onStatus(s: OtaStatus): Promise<void> {
    return this.rollouts.onStatus(s).catch((err: unknown) => {
      (this.o.log ?? console.error)(`ota: status of ${s.siteId}: ${String(err)}`);
    });
  }

  get canNotify(): boolean {
    return this.o.transport !== null;
  }

  bundleUrl(version: string): string {
    return `${this.publicUrl.replace(/\/+$/, '')}/ota/bundles/${version}`;
  }

  /** Bundles in the store whose manifest carries a valid fleet signature, newest sequence first. */
  bundles(): BundleInfo[] {
    const pub = this.pub;
    if (!existsSync(this.bundlesDir) || !pub) return [];
    const out: BundleInfo[] = [];
    for (const name of readdirSync(this.bundlesDir)) {
      const m = this.manifestOf(name, pub);
      if (m) out.push({ version: m.version, sequence: m.sequence, arch: m.arch, node: m.node, payloadBytes: m.payload.bytes, payloadSha256: m.payload.sha256 });
    }
    return out.sort((a, b) => b.sequence - a.sequence);
  }

  bundle(version: string): Manifest | null {
    const pub = this.pub;
    return pub ? this.manifestOf(version, pub) : null;
  }

  private manifestOf(name: string, pub: KeyObject): Manifest | null {
    if (!VersionSchema.safeParse(name).success) return null;
    const dir = join(this.bundlesDir, name);
    try {
      const bytes = readFileSync(join(dir, MANIFEST_FILE));
      if (!manifestSignatureValid(bytes, readFileSync(join(dir, SIGNATURE_FILE)), pub)) return null;
      const m = parseManifest(bytes);
      return m.version === name ? m : null;
    } catch {
      return null;
    }
  }

  /** The notice with its bundle URL signed for its site, valid DOWNLOAD_TOKEN_MS from now. */
  signedNotice(n: OtaNotice): OtaNotice {
    return { ...n, url: `${n.url.replace(/\/+$/, '')}/${this.tokens.sign(n.siteId, n.version)}` };
  }

  /** What a newly provisioned site installs: the bundle of the newest deployment that is not aborted, else the newest bundle. */
  currentBundleNotice(siteId: string): OtaNotice | null {
    const newest = this.bundles()[0];
    if (!newest) return null;
    return this.signedNotice({ v: 1, deploymentId: `provision-${newest.sequence}`, siteId, version: newest.version, sequence: newest.sequence, url: this.bundleUrl(newest.version), issuedAt: Date.now() });
  }

  /** Stops the ticks and the reports; resolves once the lease it opened is given up. */
  close(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe();
    return this.o.lease ? Promise.resolve() : this.lease.close();
  }
}
