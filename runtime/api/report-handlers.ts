// Handler of the monthly report route: JSON (the report itself), CSV (domain/reports/monthly-csv.ts)
// or PDF (runtime/reports/monthly-pdf.ts), built by runtime/reports/monthly-source.ts.
import { monthBounds, monthText } from '../../domain/reports/monthly';
import { monthlyReportCsv } from '../../domain/reports/monthly-csv';
import { loadMonthlyReport } from '../reports/monthly-source';
import { renderMonthlyReportPdf } from '../reports/monthly-pdf';
import { ApiError, notFound, unavailable } from './errors';
import type { Handlers, Services } from './services';

export function reportHandlers(s: Services): Pick<Handlers, 'siteMonthlyReport'> {
  return {
    async siteMonthlyReport({ params, query }) {
      const site = await s.sites.get(params.id);
      if (!site) throw notFound(`site ${params.id}`);
      const store = s.store;
      if (!store) throw unavailable('no time-series store: this cloud runtime was started without one');
      const now = Date.now();
      if (monthBounds(params.month).from > now) throw new ApiError(400, 'invalid_request', `params.month: ${monthText(params.month)} has not begun`);
      const report = await loadMonthlyReport({ db: s.db, store, prices: (id, from, to) => s.plans.prices(id, from, to) }, site, params.month, { now });
      const file = `report-${site.id}-${report.month}`;
      switch (query.format) {
        case 'json':
          return { body: report };
        case 'csv':
          return { body: null, raw: { contentType: 'text/csv; charset=utf-8', data: monthlyReportCsv(report), filename: `${file}.csv` } };
        case 'pdf':
          return { body: null, raw: { contentType: 'application/pdf', data: await renderMonthlyReportPdf(report), filename: `${file}.pdf` } };
      }
    },
  };
}
