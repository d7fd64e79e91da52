// The monthly report as a PDF (pdfkit): title, site, month, the figures of
// domain/reports/monthly-lines.ts as a two-column table per section, what they mean, and when it
// was generated. Built-in Helvetica: no font files to ship.
import PDFDocument from 'pdfkit';
import { monthlyReportNotes, monthlyReportSections } from '../../domain/reports/monthly-lines';
import type { MonthlyReport } from '../../domain/reports/monthly';

const LEFT = 56;
const WIDTH = 483; // A4 (595 pt) less two 56 pt margins
const VALUE_X = LEFT + 300;

export function renderMonthlyReportPdf(report: MonthlyReport): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: 'A4', margin: LEFT,
      info: { Title: `Monthly report ${report.siteId} ${report.month}`, Author: 'LiFePO4 EMS', CreationDate: new Date(report.generatedAt) },
    });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);

    doc.font('Helvetica-Bold').fontSize(18).text(`Monthly report ${report.month}`, LEFT, LEFT);
    doc.font('Helvetica').fontSize(11).moveDown(0.3)
      .text(`Site: ${report.siteName} (${report.siteId})`)
      .text(`Period: ${report.period.from} to ${report.period.complete ? report.period.to : `${report.period.end} (month not over)`}, ${report.timeZone}`);

    for (const section of monthlyReportSections(report)) {
      doc.moveDown(0.8).font('Helvetica-Bold').fontSize(12).text(section.title, LEFT);
      doc.font('Helvetica').fontSize(10);
      for (const line of section.lines) {
        if (doc.y > doc.page.height - 100) doc.addPage();
        const y = doc.y + 2;
        doc.moveTo(LEFT, y - 1).lineTo(LEFT + WIDTH, y - 1).lineWidth(0.3).strokeColor('#bbbbbb').stroke();
        doc.fillColor('#000000').text(line.label, LEFT, y + 2, { width: VALUE_X - LEFT - 10, lineBreak: false });
        doc.text(line.value, VALUE_X, y + 2, { width: LEFT + WIDTH - VALUE_X, align: 'right' });
        doc.x = LEFT;
      }
    }

    doc.moveDown(1.2).font('Helvetica').fontSize(8).fillColor('#444444');
    for (const note of monthlyReportNotes(report)) doc.text(note, LEFT, doc.y, { width: WIDTH });
    doc.moveDown(0.8).text(`Generated ${report.generatedAt} by LiFePO4 EMS.`, LEFT, doc.y, { width: WIDTH });
    doc.end();
  });
}
