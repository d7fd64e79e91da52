// Writes the app icons (public/icons/*.png) from the same drawing as public/icons/icon.svg: a
// green battery with a charge bolt on the dark header colour. Run once after changing the drawing:
//   node dashboard/scripts/make-icons.mjs
// PNG is written by hand (zlib + CRC32) so no image package is needed.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { Buffer } from 'node:buffer';

const BG = [15, 23, 42];
const GREEN = [34, 197, 94];
const BOLT = [250, 204, 21];

// Shapes in a 512 x 512 design space, matching icon.svg.
function inRoundRect(x, y, x0, y0, w, h, r) {
  if (x < x0 || y < y0 || x > x0 + w || y > y0 + h) return false;
  const cx = Math.min(Math.max(x, x0 + r), x0 + w - r);
  const cy = Math.min(Math.max(y, y0 + r), y0 + h - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}
function inPolygon(x, y, pts) {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
const BOLT_PTS = [[282, 150], [196, 276], [250, 276], [226, 372], [316, 236], [262, 236]];

function colourAt(x, y, maskable) {
  // Maskable icons keep the artwork in the inner 80 % safe zone and fill the whole square.
  const s = maskable ? 0.72 : 1;
  const u = 256 + (x - 256) / s;
  const v = 256 + (y - 256) / s;
  if (!maskable && !inRoundRect(x, y, 0, 0, 512, 512, 96)) return null;
  if (inPolygon(u, v, BOLT_PTS)) return BOLT;
  const body = inRoundRect(u, v, 136, 120, 240, 300, 28);
  const hollow = inRoundRect(u, v, 160, 144, 192, 252, 12);
  const cap = inRoundRect(u, v, 206, 92, 100, 36, 10);
  const fill = inRoundRect(u, v, 176, 300, 160, 80, 6);
  if ((body && !hollow) || cap || fill) return GREEN;
  return BG;
}

function crc32(buf) {
  let c;
  const table = [];
  for (let n = 0; n < 256; n++) {
    c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  let crc = 0xffffffff;
  for (const b of buf) crc = table[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

function png(size, maskable) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  const ss = 3; // 3 x 3 supersampling for smooth edges
  for (let py = 0; py < size; py++) {
    raw[py * (size * 4 + 1)] = 0;
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const c = colourAt(((px + (sx + 0.5) / ss) * 512) / size, ((py + (sy + 0.5) / ss) * 512) / size, maskable);
          if (c) { r += c[0]; g += c[1]; b += c[2]; a += 255; }
        }
      }
      const n = ss * ss;
      const o = py * (size * 4 + 1) + 1 + px * 4;
      const cover = a / 255;
      raw[o] = cover ? Math.round(r / cover) : 0;
      raw[o + 1] = cover ? Math.round(g / cover) : 0;
      raw[o + 2] = cover ? Math.round(b / cover) : 0;
      raw[o + 3] = Math.round(a / n);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0)),
  ]);
}

const out = new URL('../public/icons/', import.meta.url);
for (const [name, size, maskable] of [['icon-192.png', 192, false], ['icon-512.png', 512, false], ['maskable-512.png', 512, true], ['apple-touch-icon.png', 180, true]]) {
  writeFileSync(new URL(name, out), png(size, maskable));
  console.log(`wrote ${name}`);
}
