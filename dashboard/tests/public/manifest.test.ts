// @vitest-environment node
// The installable app: the manifest names icons that exist at the sizes it claims.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pub = (p: string) => fileURLToPath(new URL(`../../public/${p.replace(/^\//, '')}`, import.meta.url));

interface Icon { src: string; sizes: string; type: string; purpose: string }

describe('the web app manifest', () => {
  const manifest = JSON.parse(readFileSync(pub('manifest.webmanifest'), 'utf8')) as { start_url: string; display: string; icons: Icon[] };

  it('starts standalone at /', () => {
    expect(manifest.start_url).toBe('/');
    expect(manifest.display).toBe('standalone');
  });

  it('lists icons that exist, PNGs with the width and height they claim, including 192, 512 and a maskable one', () => {
    for (const icon of manifest.icons) {
      expect(existsSync(pub(icon.src)), icon.src).toBe(true);
      if (icon.type !== 'image/png') continue;
      const png = readFileSync(pub(icon.src));
      expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
      expect(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`).toBe(icon.sizes);
    }
    expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    expect(manifest.icons.some((i) => i.purpose === 'maskable')).toBe(true);
  });
});
