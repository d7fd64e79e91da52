// LFP ageing data as the optimizer, the ageing model and the simulator read it: capacity against
// equivalent full cycles of one cell (Severson et al., Nature Energy 2019; data/SOURCES.md), from a
// CSV with the columns `cycs` (cycle) and `q` (capacity, % of nominal).

export interface AgeingPoint {
  cycle: number;
  /** Capacity, % of nominal. */
  capacityPct: number;
}

/** Parses the Severson CSV text (`t,cycs,q,dqdv`); a cell that is not a number is an error. */
export function parseAgeingCsv(text: string): AgeingPoint[] {
  const rows = text.split(/\r?\n/).filter((l) => l.trim());
  const header = (rows.shift() ?? '').split(',').map((h) => h.trim());
  const iCycle = header.indexOf('cycs');
  const iQ = header.indexOf('q');
  if (iCycle < 0 || iQ < 0) throw new Error(`ageing csv: expected columns cycs and q, got ${header.join(',')}`);
  return rows.map((row, i) => {
    const cols = row.split(',');
    const cycle = Number(cols[iCycle]);
    const capacityPct = Number(cols[iQ]);
    if (!Number.isFinite(cycle) || !Number.isFinite(capacityPct)) throw new Error(`ageing csv line ${i + 2}: not a number`);
    return { cycle, capacityPct };
  });
}
