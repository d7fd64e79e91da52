// price-feed: prices from a CSV or Modelica file, an HTTP JSON feed or the message, normalised to
// a PriceSeries (EUR/MWh on a regular 15 or 60 minute grid) for the arbitrage node.
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { z } from 'zod';
import type { PriceSeries } from '../../domain/contracts';
import {
  alignToDay, parsePriceJson, replayStart, parsePriceText, parseTime, PriceError, toEurPerMWh, toPriceSeries, windowOf, type PricePoint,
} from '../../domain/arbitrage/prices';
import { dataPath } from '../../io/data/real-data';
import { parseConfig } from '../kit/config';
import { errorStatus, errorText, shorten } from '../kit/status';
import { PriceFeedConfigSchema, type PriceFeedConfig } from './config';

interface PriceFeedDef extends NodeDef, Record<string, unknown> {}

const FETCH_TIMEOUT_MS = 10_000;
const START_DELAY_MS = 500;

export = function register(RED: NodeAPI): void {
  function PriceFeedNode(this: Node, def: PriceFeedDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let config: PriceFeedConfig;
    try {
      config = parseConfig(PriceFeedConfigSchema, 'price-feed', def);
    } catch (err) {
      node.status(errorStatus(err));
      node.error(err);
      return;
    }
    const origin = parseTime(config.origin, 'origin');

    /** Points (or a ready series) to the series this node emits. */
    function normalise(input: PricePoint[] | PriceSeries, source: string): PriceSeries {
      let series: PriceSeries;
      if (Array.isArray(input)) {
        const first = Math.min(...input.map((p) => p.time));
        const end = Math.max(...input.map((p) => p.time)) + config.stepMinutes * 60_000;
        const from = config.from === 'same-day' ? replayStart(first, end, Date.now(), config.hours)
          : config.from ? parseTime(config.from, 'from') : first;
        const points = windowOf(input, from, config.hours);
        if (points.length === 0) throw new PriceError(`${source}: no prices from ${new Date(from).toISOString()} on`);
        series = toPriceSeries(points, config.stepMinutes as 15 | 60, toEurPerMWh(config.unit), source);
      } else {
        const f = toEurPerMWh(config.unit);
        series = f === 1 ? input : { ...input, pricesEurPerMWh: input.pricesEurPerMWh.map((p) => p * f) };
      }
      return config.align === 'today' ? alignToDay(series, Date.now()) : series;
    }

    async function load(): Promise<PriceSeries> {
      if (config.mode === 'file') {
        const path = isAbsolute(config.path) ? config.path : dataPath(config.path);
        const text = await readFile(path, 'utf8');
        return normalise(parsePriceText(text, origin, config.path), config.path);
      }
      const res = await fetch(config.url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
      if (!res.ok) throw new PriceError(`${config.url}: HTTP ${res.status}`);
      return normalise(parsePriceJson(await res.json(), config.url), config.url);
    }

    /** What a message brings: a series, points as JSON or text, or plain numbers from msg.start. */
    function fromMessage(msg: NodeMessageInFlow): PriceSeries {
      const p = msg.payload;
      if (typeof p === 'string') return normalise(parsePriceText(p, origin, 'msg.payload'), 'msg.payload');
      const numbers = z.array(z.number().finite()).min(1).safeParse(p);
      if (numbers.success) {
        const m = msg as NodeMessageInFlow & { start?: unknown };
        const day = 86_400_000;
        const start = m.start !== undefined ? parseTime(m.start, 'msg.start') : Math.floor(Date.now() / day) * day;
        const step = (config.stepMinutes as number) * 60_000;
        return normalise(numbers.data.map((price, i) => ({ time: start + i * step, price })), 'msg.payload');
      }
      return normalise(parsePriceJson(p, 'msg.payload'), 'msg.payload');
    }

    function emitted(series: PriceSeries): void {
      const ps = series.pricesEurPerMWh;
      node.status({
        fill: 'green', shape: 'dot',
        text: shorten(`${ps.length} x ${series.stepMinutes} min from ${new Date(series.start).toISOString().slice(0, 16)} · ${Math.min(...ps).toFixed(0)}..${Math.max(...ps).toFixed(0)} EUR/MWh`),
      });
    }

    let closed = false;
    async function refresh(): Promise<void> {
      try {
        const series = await load();
        if (closed) return;
        emitted(series);
        node.send({ topic: 'prices', payload: series });
      } catch (err) {
        if (closed) return;
        node.status(errorStatus(err));
        node.error(`price-feed: ${errorText(err)}`);
      }
    }

    const timers: NodeJS.Timeout[] = [];
    if (config.mode !== 'msg' && config.emitOnStart) timers.push(setTimeout(() => void refresh(), START_DELAY_MS));
    if (config.mode !== 'msg' && config.refreshMinutes > 0) timers.push(setInterval(() => void refresh(), config.refreshMinutes * 60_000));

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      if (config.mode !== 'msg') {
        // Any message reloads the file or the feed.
        load().then((series) => {
          emitted(series);
          send({ ...msg, topic: 'prices', payload: series });
          done();
        }, (err: unknown) => {
          node.status(errorStatus(err));
          done(new Error(`price-feed: ${errorText(err)}`));
        });
        return;
      }
      try {
        const series = fromMessage(msg);
        emitted(series);
        send({ ...msg, topic: 'prices', payload: series });
        done();
      } catch (err) {
        node.status(errorStatus(err));
        done(new Error(`price-feed: ${errorText(err)}`));
      }
    });

    node.on('close', () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
    });
  }
  RED.nodes.registerType('price-feed', PriceFeedNode);
};
