// The HTML report's stylesheet (inlined into the page by html.ts).
export const PAGE_STYLE = String.raw`
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --panel: #f8fafc; --accent: #2563eb;
  --nettrim: #2563eb; --magnitude: #6b7280; --wanda: #d97706; --sparsegpt: #9333ea; --trained: #111827; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 28px 60px; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 17px; margin: 34px 0 4px; padding-top: 14px; border-top: 1px solid var(--line); }
.sub { color: var(--muted); margin: 0 0 16px; word-break: break-all; }
.note { color: var(--muted); margin: 2px 0 12px; max-width: 820px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(118px, 1fr)); gap: 10px; margin: 14px 0 4px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 9px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .value.small { font-size: 15px; }
table { border-collapse: collapse; margin: 6px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.l, th.l { text-align: left; }
td.reason { white-space: normal; text-align: left; max-width: 620px; }
.status { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; }
.status.solved { background: #dcfce7; color: #166534; }
.status.solved-inaccurate { background: #fef9c3; color: #854d0e; }
.status.max-iterations, .status.non-finite { background: #fee2e2; color: #991b1b; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; fill: var(--ink); }
svg .muted { fill: var(--muted); }
.masks { display: flex; flex-wrap: wrap; gap: 18px; margin-top: 8px; }
.mask { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.mask h3 { font-size: 14px; margin: 0 0 6px; }
.mask canvas { display: block; image-rendering: pixelated; border: 1px solid var(--line); background: #fff; }
.mask .caption { color: var(--muted); font-size: 12px; margin-top: 6px; max-width: 300px; }
.scale { display: flex; align-items: center; gap: 6px; font-size: 12px; color: var(--muted); margin-top: 4px; }
.scale canvas { width: 120px; height: 10px; border: 0; }
.legend { display: flex; flex-wrap: wrap; gap: 16px; font-size: 13px; margin: 4px 0; }
.legend span::before { content: ""; display: inline-block; width: 18px; height: 3px; margin: 0 6px 3px 0; background: currentColor; vertical-align: middle; }
details { margin-top: 30px; }
details pre { background: var(--panel); border: 1px solid var(--line); padding: 10px; overflow: auto; max-height: 420px; font-size: 12px; }
`;
