// The signed edge bundle: built deterministically, verified strictly, and every kind of bad bundle
// refused with its reason before anything is extracted.
import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256, sha256File, verifyBundle } from '../../../runtime/ota/bundle';
import { BundleError, MANIFEST_FILE, PAYLOAD_FILE, SIGNATURE_FILE, type BundleRefusal, type Manifest } from '../../../runtime/ota/manifest';
import { safeExtract } from '../../../runtime/ota/payload-archive';
import { signManifest } from '../../../runtime/ota/signing-key';
import { runCli } from '../../integration/lifo4-process';
import { buildTestBundle, ed25519, ReleaseSource, removeDir, tempDir } from './ota-fixtures';

interface RawEntry {
  path: string;
  /** ustar typeflag: 0 file, 1 hard link, 2 symlink, 3 char device, 5 folder. */
  type: '0' | '1' | '2' | '3' | '5';
  body?: string;
  linkname?: string;
}

/**
 * A tar written header by header (POSIX ustar, IEEE Std 1003.1 pax "ustar Interchange Format"),
 * so the test controls every path and type byte: tar.create itself normalises what we want to abuse.
 */
function rawTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const h = Buffer.alloc(512);
    const put = (s: string, off: number, len: number) => h.write(s, off, len, 'utf8');
    const oct = (n: number, off: number, len: number) => put(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len);
    put(e.path, 0, 100);
    oct(0o644, 100, 8);
    oct(0, 108, 8);
    oct(0, 116, 8);
    oct(body.length, 124, 12);
    oct(946684800, 136, 12);
    h.fill(' ', 148, 156);
    put(e.type, 156, 1);
    put(e.linkname ?? '', 157, 100);
    put('ustar\0', 257, 6);
    put('00', 263, 2);
    let sum = 0;
    for (const b of h) sum += b;
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

async function refusal(p: Promise<unknown>): Promise<BundleRefusal> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BundleError) return err.reason;
    throw err;
  }
  throw new Error('the bundle was accepted');
}

/** Writes a manifest for `payload` (with overrides) and signs it: what a builder with the fleet key would do. */
async function signFor(dir: string, base: Manifest, key: import('node:crypto').KeyObject, over: Partial<Manifest> = {}): Promise<void> {
  const payload = join(dir, PAYLOAD_FILE);
  const m: Manifest = { ...base, payload: { file: PAYLOAD_FILE, sha256: await sha256File(payload), bytes: readFileSync(payload).length }, ...over };
  const bytes = Buffer.from(JSON.stringify(m));
  writeFileSync(join(dir, MANIFEST_FILE), bytes);
  writeFileSync(join(dir, SIGNATURE_FILE), signManifest(bytes, key));
}

describe('OTA bundle: lifo4 image build | verify', function () {
  this.timeout(120_000);
  let root: string;
  let source: ReleaseSource;
  const fleet = ed25519();
  let good: { dir: string; manifest: Manifest };

  before(async () => {
    root = tempDir('bundle');
    source = new ReleaseSource(root);
    good = await buildTestBundle({ root, source, key: fleet.privateKey, version: '1.0.0', sequence: 10 });
  });
  after(() => removeDir(root));

  /** A copy of the good bundle to damage. */
  function copyOfGood(name: string): string {
    const dir = join(root, 'bad', name);
    cpSync(good.dir, dir, { recursive: true });
    return dir;
  }

  it('gives the same payload bytes for the same inputs, built at another time', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // another second on the clock: mtimes must not leak in
    const again = await buildTestBundle({ root, source, key: fleet.privateKey, version: '1.0.0', sequence: 10, outDir: join(root, 'again') });
    assert.equal(again.manifest.payload.sha256, good.manifest.payload.sha256);
    assert.deepEqual(readFileSync(join(again.dir, PAYLOAD_FILE)), readFileSync(join(good.dir, PAYLOAD_FILE)));
    assert.equal(again.manifest.flows.sha256, sha256(readFileSync(join(root, 'flows-1.0.0.json'))));
  });

  it('accepts a good bundle and returns its manifest', async () => {
    const m = await verifyBundle(good.dir, fleet.publicKey);
    assert.equal(m.version, '1.0.0');
    assert.equal(m.sequence, 10);
    assert.deepEqual(m.entry, ['runtime.js']);
  });

  it('refuses a payload with one flipped byte', async () => {
    const dir = copyOfGood('flipped');
    const p = join(dir, PAYLOAD_FILE);
    const bytes = readFileSync(p);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(p, bytes);
    assert.equal(await refusal(verifyBundle(dir, fleet.publicKey)), 'payload-hash-mismatch');
  });

  it('refuses a truncated payload', async () => {
    const dir = copyOfGood('truncated');
    truncateSync(join(dir, PAYLOAD_FILE), 1000);
    assert.equal(await refusal(verifyBundle(dir, fleet.publicKey)), 'payload-size-mismatch');
  });

  it('refuses a bundle signed by another key', async () => {
    const dir = copyOfGood('other-key');
    await signFor(dir, good.manifest, ed25519().privateKey);
    assert.equal(await refusal(verifyBundle(dir, fleet.publicKey)), 'signature-invalid');
  });

  it('refuses a manifest changed after signing', async () => {
    const dir = copyOfGood('edited-manifest');
    const m = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
    writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify({ ...m, sequence: 99 }, null, 2));
    assert.equal(await refusal(verifyBundle(dir, fleet.publicKey)), 'signature-invalid');
  });

  it('refuses a signed manifest whose payload hash does not match the payload', async () => {
    const dir = copyOfGood('hash-mismatch');
    await signFor(dir, good.manifest, fleet.privateKey, { payload: { ...good.manifest.payload, sha256: 'ab'.repeat(32) } });
    assert.equal(await refusal(verifyBundle(dir, fleet.publicKey)), 'payload-hash-mismatch');
  });

  it('refuses a signed manifest whose flows hash does not match the flows in the payload', async () => {
    const dir = copyOfGood('flows-mismatch');
    await signFor(dir, good.manifest, fleet.privateKey, { flows: { path: 'flows.json', sha256: 'cd'.repeat(32) } });
    assert.equal(await refusal(verifyBundle(dir, fleet.publicKey)), 'flows-hash-mismatch');
  });

  it('refuses a downgrade: a sequence not above the running one', async () => {
    assert.equal(await refusal(verifyBundle(good.dir, fleet.publicKey, { minSequence: 10 })), 'downgrade');
    assert.equal(await refusal(verifyBundle(good.dir, fleet.publicKey, { minSequence: 11 })), 'downgrade');
    await verifyBundle(good.dir, fleet.publicKey, { minSequence: 9 });
  });

  it('refuses a missing file and a manifest that is not one', async () => {
    const dir = copyOfGood('no-sig');
    removeDir(join(dir, SIGNATURE_FILE));
    assert.equal(await refusal(verifyBundle(dir, fleet.publicKey)), 'missing-file');
    const dir2 = copyOfGood('not-json');
    writeFileSync(join(dir2, MANIFEST_FILE), 'not json');
    writeFileSync(join(dir2, SIGNATURE_FILE), signManifest(Buffer.from('not json'), fleet.privateKey));
    assert.equal(await refusal(verifyBundle(dir2, fleet.publicKey)), 'manifest-invalid');
  });

  describe('archives with entries that leave the release, signed with the fleet key', () => {
    /** A signed bundle whose payload holds flows.json and then `entry`, written header by header. */
    async function evilBundle(name: string, entry: RawEntry): Promise<string> {
      const dir = join(root, 'evil', name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, PAYLOAD_FILE), gzipSync(rawTar([{ path: 'flows.json', type: '0', body: '[]' }, entry])));
      await signFor(dir, good.manifest, fleet.privateKey, { flows: { path: 'flows.json', sha256: sha256('[]') } });
      return dir;
    }

    const cases: [string, RawEntry][] = [
      ['a ../ entry', { path: '../escape.txt', type: '0', body: 'x' }],
      ['a ../ in the middle', { path: 'lib/../../escape.txt', type: '0', body: 'x' }],
      ['an absolute path', { path: '/tmp/lifo4-ota-escape.txt', type: '0', body: 'x' }],
      ['a symbolic link', { path: 'link', type: '2', linkname: '/etc/passwd' }],
      ['a hard link', { path: 'hard', type: '1', linkname: 'flows.json' }],
      ['a device node', { path: 'dev', type: '3' }],
    ];
    for (const [what, entry] of cases) {
      it(`refuses ${what} and extracts nothing`, async () => {
        const dir = await evilBundle(what.replace(/\W+/g, '-'), entry);
        assert.equal(await refusal(verifyBundle(dir, fleet.publicKey)), 'unsafe-entry');
        const into = join(root, 'extract', what.replace(/\W+/g, '-'));
        mkdirSync(into, { recursive: true });
        assert.equal(await refusal(safeExtract(join(dir, PAYLOAD_FILE), into)), 'unsafe-entry');
        assert.deepEqual(readdirSync(into), [], 'nothing was extracted');
        assert.equal(existsSync(join(root, 'extract', 'escape.txt')), false);
        assert.equal(existsSync('/tmp/lifo4-ota-escape.txt'), false);
      });
    }
  });

  describe('the CLI', () => {
    it('lifo4 image build signs with the key in the data dir, and verify exits 0 for it', () => {
      const data = join(root, 'cli-data');
      const flows = join(root, 'flows-1.0.0.json');
      const out = join(root, 'cli-bundle');
      const built = runCli(['image', 'build', '--flows', flows, '--out', out, '--data-dir', data, '--release', '2.0.0', '--include', join(source.dir, 'runtime.js'), '--entry', '["runtime.js"]']);
      assert.equal(built.code, 0, built.stderr);
      assert.match(built.stdout, /built 2\.0\.0 \(sequence 1\)/);
      const ok = runCli(['image', 'verify', out, '--data-dir', data]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^ok 2\.0\.0/);
      const second = runCli(['image', 'build', '--flows', flows, '--out', join(root, 'cli-bundle-2'), '--data-dir', data, '--include', join(source.dir, 'runtime.js')]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /sequence 2\)/, 'the sequence grows by itself');
    });

    it('lifo4 image verify exits 3 and names the reason for a bad bundle', () => {
      const dir = copyOfGood('cli-flipped');
      const p = join(dir, PAYLOAD_FILE);
      const bytes = readFileSync(p);
      bytes[100]! ^= 0xff;
      writeFileSync(p, bytes);
      const keyFile = join(root, 'fleet.pub');
      writeFileSync(keyFile, fleet.publicPem);
      const r = runCli(['image', 'verify', dir, '--key', keyFile]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(r.stderr, /refused: payload-hash-mismatch/);
      const other = join(root, 'other.pub');
      writeFileSync(other, ed25519().publicPem);
      const r2 = runCli(['image', 'verify', good.dir, '--key', other]);
      assert.equal(r2.code, 3);
      assert.match(r2.stderr, /signature-invalid/);
    });
  });
});
