// Reads a PDF the way a viewer starts to: checks its frame (header, cross-reference table,
// trailer, %%EOF), inflates its content streams and collects the text they show (Tj and TJ
// operators with hex or literal strings, as pdfkit writes them for the built-in fonts). Enough
// to prove that a report opens and shows its figures, without a PDF tool on the machine.
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';

function literal(s: string): string {
  return s.replace(/\\([nrtbf()\\]|[0-7]{1,3})/g, (_m, e: string) => {
    const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', '(': '(', ')': ')', '\\': '\\' };
    return map[e] ?? String.fromCharCode(parseInt(e, 8));
  });
}

function shown(content: string): string[] {
  const lines: string[] = [];
  // [ <hex> kern <hex> ... ] TJ  or  <hex> Tj  or  (text) Tj
  for (const m of content.matchAll(/\[((?:[^\]\\]|\\.)*)\]\s*TJ|(<[0-9A-Fa-f]*>|\((?:[^)\\]|\\.)*\))\s*Tj/g)) {
    const parts = m[1] !== undefined ? [...m[1].matchAll(/<([0-9A-Fa-f]*)>|\(((?:[^)\\]|\\.)*)\)/g)] : [[m[2] ?? '', m[2]?.startsWith('<') ? (m[2] ?? '').slice(1, -1) : undefined, m[2]?.startsWith('(') ? (m[2] ?? '').slice(1, -1) : undefined]];
    lines.push(parts.map((p) => (p[1] !== undefined ? Buffer.from(p[1], 'hex').toString('latin1') : literal(p[2] ?? ''))).join(''));
  }
  return lines;
}

/** The text runs the PDF shows, in content-stream order; throws when the file is not a complete PDF. */
export function pdfText(pdf: Buffer): string[] {
  const raw = pdf.toString('latin1');
  assert.match(raw.slice(0, 8), /^%PDF-1\.\d/, 'PDF header');
  assert.match(raw.slice(-32), /startxref\s+\d+\s+%%EOF\s*$/, 'trailer and %%EOF');
  const xrefAt = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(raw)?.[1]);
  assert.equal(raw.slice(xrefAt, xrefAt + 4), 'xref', 'startxref points at the cross-reference table');
  const out: string[] = [];
  for (const m of raw.matchAll(/<<([^]*?)>>\s*stream\r?\n/g)) {
    const start = (m.index ?? 0) + m[0].length;
    const length = Number(/\/Length (\d+)/.exec(m[1] ?? '')?.[1]);
    assert.ok(Number.isFinite(length), 'stream length');
    let body = pdf.subarray(start, start + length);
    if (/\/FlateDecode/.test(m[1] ?? '')) body = inflateSync(body);
    out.push(...shown(body.toString('latin1')));
  }
  return out;
}
