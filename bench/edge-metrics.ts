// What the edge's metrics cost (README, "Edge metrics"): the Modbus hot path (one counted request,
// ns, and the heap it leaves behind: none is the aim) and one scrape of /metrics' registry with
// three units counted and a telemetry buffer of `--records` waiting records (median ms).
// Run: npm run bench -- edge-metrics [--records 86400] [--counts 10000000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TelemetryBuffer } from '../io/buffer/telemetry-buffer';
import { EdgePromMetrics } from '../runtime/edge/edge-metrics';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const RECORDS = arg('--records', 86_400);
const COUNTS = arg('--counts', 10_000_000);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lifo4-bench-edge-metrics-'));
  const buffer = new TelemetryBuffer({ path: join(dir, 'site-1.db'), siteId: 'site-1' });
  try {
    const t0 = Date.now() - RECORDS * 1000;
    for (let k = 0; k < RECORDS; k += 5000) {
      buffer.appendMany(Array.from({ length: Math.min(5000, RECORDS - k) }, (_, j) => ({ siteId: 'site-1', ts: t0 + (k + j) * 1000 })));
    }
    const metrics = new EdgePromMetrics();
    metrics.watchBuffer('site-1', () => ({ depth: buffer.size, oldestTs: buffer.oldestTs() }));
    metrics.watchMqtt('cloud broker', () => true);
    const units = [1, 2, 3].map((u) => metrics.modbusUnit('127.0.0.1:5020', u));
    const unit = units[0]!;
    for (let i = 0; i < 1_000_000; i++) unit.request(); // warm up
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    for (let i = 0; i < COUNTS; i++) unit.request();
    const nsPerCount = Number(process.hrtime.bigint() - start) / COUNTS;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    units[1]!.error('TIMEOUT');
    const scrapes: number[] = [];
    for (let i = 0; i < 50; i++) {
      const s = process.hrtime.bigint();
      await metrics.registry.metrics();
      scrapes.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    scrapes.sort((a, b) => a - b);
    console.log(JSON.stringify({
      bench: 'edge-metrics', records: RECORDS, counts: COUNTS,
      ns_per_modbus_count: Math.round(nsPerCount * 100) / 100, heap_growth_bytes: heapGrowth,
      scrape_p50_ms: Math.round((scrapes[25] ?? 0) * 100) / 100, scrape_max_ms: Math.round((scrapes.at(-1) ?? 0) * 100) / 100,
    }));
  } finally {
    buffer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
