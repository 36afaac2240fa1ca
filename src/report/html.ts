// The HTML report: one self-contained page (no server, no network at view time). The PruneReport
// (the very object the JSON report holds) and the figures are embedded as one JSON block, and the
// page's own script (page-script.ts) draws everything from it, so page and JSON cannot disagree.
// Charts are plain SVG written by that script: no chart library to inline (a bar chart, a gauge and
// one line chart do not justify 50-200 kB of someone else's code, nor a dependency).
import type { PruneReport } from '../prune/types.ts';
import type { ReportFigures } from './figures.ts';
import { PAGE_SCRIPT } from './page-script.ts';
import { PAGE_STYLE } from './page-style.ts';

/** What the page embeds: the JSON report (with `output` when written by the CLI) and its pictures. */
export interface HtmlReportData {
  report: PruneReport & { output?: string };
  figures: ReportFigures | null;
}

/** The whole page as a string. `figures` may be null (a report read back from JSON): no mask images then. */
export function renderHtmlReport(report: PruneReport & { output?: string }, figures: ReportFigures | null): string {
  const data: HtmlReportData = { report, figures };
  const title = `nettrim: ${basename(report.model)}`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // nothing may load from anywhere: the page is the whole report
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${PAGE_STYLE}</style>`,
    '</head>',
    '<body>',
    '<main id="report"><noscript>This report draws itself with JavaScript; the data are in the script block below.</noscript></main>',
    `<script type="application/json" id="nettrim-data">${jsonForScript(data)}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** JSON that cannot end its <script> element early: every '<' escaped (JSON.parse reads it back). */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function basename(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}

/** A report path that asks for the page rather than JSON: .html or .htm, any case. */
export function isHtmlPath(path: string): boolean {
  return /\.html?$/i.test(path);
}
