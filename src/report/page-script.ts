// The HTML report's own script, inlined into the page by html.ts: it reads the embedded JSON block
// (#nettrim-data: { report, figures }) and draws every number, table and chart from it. Plain
// browser JavaScript in a string (no backticks or dollar-brace inside): the page needs no build
// step, and test/report-html.test.ts runs it in headless Chromium.
//
// Elements that show a number of the report carry data-field (its path in the report) and
// data-value (the exact value), so a test can compare what the page shows with the JSON.
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var data = JSON.parse(document.getElementById('nettrim-data').textContent);
  var report = data.report;
  var figures = data.figures;
  var root = document.getElementById('report');
  root.textContent = '';

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function setAttrs(node, attrs) {
    for (var k in attrs || {}) if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, String(attrs[k]));
  }
  function append(node, children) {
    if (children === undefined || children === null) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
  }
  function pct(v) { return (100 * v).toFixed(1) + '%'; }
  function fixed(v, d) { return v.toFixed(d); }
  function int(v) { return v.toLocaleString('en-US'); }
  /** A cell or span that shows the number at path 'field' of the report. */
  function num(tag, field, value, text, cls) {
    return el(tag, { 'data-field': field, 'data-value': value, class: cls }, text);
  }
  function shape(l) { return l.inputs + ' \u00d7 ' + l.outputs + (l.groups > 1 ? ' \u00d7' + l.groups : ''); }
  function section(title, note) {
    root.appendChild(el('h2', {}, title));
    if (note) root.appendChild(el('p', { class: 'note' }, note));
  }

  // ---- header and totals ------------------------------------------------------------------------
  var t = report.total;
  root.appendChild(el('h1', {}, 'Net-Trim pruning report'));
  var how = report.scheme + ' scheme, relative gain \u03b5 = ' + report.epsilon.toPrecision(3) +
    (report.gamma !== null ? ', \u03b3 = ' + report.gamma : '') + (report.refit ? ', least-squares refit of the kept weights' + (report.refitBounds ? ' (' + report.refitBounds + ' bounds)' : '') : '');
  root.appendChild(el('p', { class: 'sub' }, [report.model, report.output ? ' \u2192 ' + report.output : '', el('br'), how]));
  var cards = [
    ['weights kept', num('div', 'total.keptFraction', t.keptFraction, pct(t.keptFraction), 'value')],
    ['weights removed', num('div', 'total.removedFraction', t.removedFraction, pct(t.removedFraction), 'value')],
    ['nonzero weights', el('div', { class: 'value small' }, [num('span', 'total.nnzBefore', t.nnzBefore, int(t.nnzBefore)), ' \u2192 ',
      num('span', 'total.nnzAfter', t.nnzAfter, int(t.nnzAfter))])],
    ['largest output change (calibration)', num('div', 'maxOutputChange', report.maxOutputChange, report.maxOutputChange.toPrecision(3), 'value')],
  ];
  if (report.eval) {
    cards.push(['top-1 accuracy, trained', num('div', 'eval.accuracyBefore', report.eval.accuracyBefore, pct(report.eval.accuracyBefore), 'value')]);
    cards.push(['top-1 accuracy, pruned', num('div', 'eval.accuracyAfter', report.eval.accuracyAfter, pct(report.eval.accuracyAfter), 'value')]);
  }
  cards.push(['calibration samples', num('div', 'calibrationSamples', report.calibrationSamples, int(report.calibrationSamples), 'value')]);
  cards.push(['time', num('div', 'total.seconds', t.seconds, t.seconds.toFixed(1) + ' s', 'value')]);
  root.appendChild(el('div', { class: 'cards' }, cards.map(function (c) {
    return el('div', { class: 'card' }, [el('div', { class: 'label' }, c[0]), c[1]]);
  })));

  // ---- weights (and neurons) kept per layer ------------------------------------------------------
  // A layer report may carry neuronsKept (structured pruning): a second, thinner bar then shows it.
  var hasNeurons = report.layers.some(function (l) { return typeof l.neuronsKept === 'number'; });
  section(hasNeurons ? 'Weights and neurons kept per layer' : 'Weights kept per layer',
    'Share of each layer\u2019s weights (bias excluded) that are nonzero after pruning' +
    (hasNeurons ? '; the thin bar: share of the layer\u2019s output neurons kept.' : '.'));
  root.appendChild(keptChart());

  function keptChart() {
    var labelW = 210, barW = 560, rowH = hasNeurons ? 40 : 30, top = 22, width = labelW + barW + 200;
    var height = top + rowH * report.layers.length + 8;
    var chart = svg('svg', { width: width, height: height, viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'weights kept per layer' });
    [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
      var x = labelW + f * barW;
      chart.appendChild(svg('line', { x1: x, x2: x, y1: top - 4, y2: height - 6, stroke: '#e5e7eb' }));
      chart.appendChild(svg('text', { x: x, y: 12, 'text-anchor': 'middle', class: 'muted' }, (100 * f) + '%'));
    });
    report.layers.forEach(function (l, i) {
      var y = top + i * rowH + 4;
      var g = svg('g', { 'data-layer': l.name });
      g.appendChild(svg('text', { x: labelW - 10, y: y + 14, 'text-anchor': 'end' }, l.name + '  (' + l.op + ')'));
      g.appendChild(svg('rect', { x: labelW, y: y + 2, width: barW, height: 18, fill: '#eef2f7', rx: 3 }));
      g.appendChild(svg('rect', { x: labelW, y: y + 2, width: barW * l.nnzBefore / l.weights, height: 18, fill: '#dbe4f0', rx: 3 },
        svg('title', {}, 'trained: ' + int(l.nnzBefore) + ' nonzero')));
      g.appendChild(svg('rect', { x: labelW, y: y + 2, width: Math.max(1, barW * l.keptFraction), height: 18, fill: 'var(--nettrim)', rx: 3 },
        svg('title', {}, int(l.nnzAfter) + ' of ' + int(l.weights) + ' weights kept')));
      var label = svg('text', { x: labelW + barW + 10, y: y + 15, 'data-field': 'layers.keptFraction', 'data-value': l.keptFraction },
        pct(l.keptFraction));
      g.appendChild(label);
      g.appendChild(svg('text', { x: labelW + barW + 62, y: y + 15, class: 'muted' }, int(l.nnzAfter) + ' / ' + int(l.weights)));
      if (typeof l.neuronsKept === 'number') {
        var neurons = l.outputs * l.groups;
        g.appendChild(svg('rect', { x: labelW, y: y + 23, width: barW * l.neuronsKept / neurons, height: 6, fill: '#0d9488', rx: 2 },
          svg('title', {}, l.neuronsKept + ' of ' + neurons + ' neurons kept')));
      }
      chart.appendChild(g);
    });
    return chart;
  }

  // ---- per-layer table: error against epsilon, status ---------------------------------------------
  section('Error against \u03b5 and status, per layer',
    'Relative error ||W\u1d40X \u2212 Y||_F / ||Y||_F reached on the calibration data (bar) against the layer\u2019s \u03b5 (tick): ' +
    'a layer solved to tolerance sits at or under its tick. Status is the worst over the layer\u2019s programs.');
  var scale = Math.max.apply(null, report.layers.map(function (l) { return Math.max(l.epsilon, l.relativeError); }).concat([1e-9])) * 1.08;
  var head = ['layer', 'op', 'N \u00d7 M', 'columns P', 'kept', '\u03b5', 'error', 'error vs \u03b5', 'status', 'iterations', 'time'];
  if (report.refit) head.splice(7, 0, 'error before refit');
  var rows = report.layers.map(function (l) {
    var cells = [
      el('td', { class: 'l' }, l.name), el('td', { class: 'l' }, l.op), el('td', {}, shape(l)),
      num('td', 'samples', l.samples, int(l.samples)),
      num('td', 'keptFraction', l.keptFraction, pct(l.keptFraction)),
      num('td', 'epsilon', l.epsilon, fixed(l.epsilon, 3)),
      num('td', 'relativeError', l.relativeError, fixed(l.relativeError, 3)),
      el('td', {}, gauge(l)),
      el('td', { class: 'l' }, el('span', { class: 'status ' + l.status, 'data-field': 'status', 'data-value': l.status }, l.status)),
      num('td', 'iterations', l.iterations, int(l.iterations)),
      num('td', 'seconds', l.seconds, l.seconds.toFixed(1) + ' s'),
    ];
    if (report.refit) {
      cells.splice(7, 0, l.refit ? num('td', 'refit.relativeErrorBefore', l.refit.relativeErrorBefore, fixed(l.refit.relativeErrorBefore, 3)) : el('td', {}, '\u2013'));
    }
    return el('tr', { 'data-layer': l.name }, cells);
  });
  root.appendChild(el('table', { id: 'layers' }, [
    el('thead', {}, el('tr', {}, head.map(function (h, i) { return el('th', { class: i < 2 ? 'l' : null }, h); }))),
    el('tbody', {}, rows),
  ]));

  function gauge(l) {
    var w = 150, h = 16;
    // the solver stops within its tolerances: an error a hair over epsilon is still on target
    var over = l.relativeError > l.epsilon * 1.01;
    return svg('svg', { width: w, height: h, viewBox: '0 0 ' + w + ' ' + h }, [
      svg('rect', { x: 0, y: 3, width: w, height: 10, fill: '#eef2f7', rx: 2 }),
      svg('rect', { x: 0, y: 3, width: w * l.relativeError / scale, height: 10, fill: over ? '#dc2626' : '#60a5fa', rx: 2 }),
      svg('line', { x1: w * l.epsilon / scale, x2: w * l.epsilon / scale, y1: 0, y2: h, stroke: '#111827', 'stroke-width': 2 }),
      svg('title', {}, 'error ' + fixed(l.relativeError, 4) + ', \u03b5 ' + fixed(l.epsilon, 4)),
    ]);
  }

  // ---- skipped layers -------------------------------------------------------------------------------
  section('Skipped layers', report.skipped.length ? 'Layers with weights that were left as trained, and why.' : 'No layer with weights was skipped.');
  if (report.skipped.length) {
    root.appendChild(el('table', { id: 'skipped' }, [
      el('thead', {}, el('tr', {}, [el('th', { class: 'l' }, 'layer'), el('th', { class: 'l' }, 'op'), el('th', { class: 'l' }, 'reason')])),
      el('tbody', {}, report.skipped.map(function (s) {
        return el('tr', { 'data-skipped': s.name }, [el('td', { class: 'l' }, s.name), el('td', { class: 'l' }, s.op), el('td', { class: 'reason' }, s.reason)]);
      })),
    ]));
  }

  // ---- kept-weight masks --------------------------------------------------------------------------
  if (figures && figures.layers.length) {
    section('Kept weights', 'Each layer\u2019s weight matrix: a row per output neuron, a column per input ' +
      '(a convolution\u2019s input is its kernel patch, channels \u00d7 kh \u00d7 kw). Dark: kept; light: removed. ' +
      'Large matrices are shown in blocks, shaded by the share kept in the block.');
    var grid = el('div', { class: 'masks' });
    figures.layers.forEach(function (f) {
      if (f.inputMap) grid.appendChild(inputMapCard(f));
      grid.appendChild(maskCard(f));
    });
    root.appendChild(grid);
  }

  function maskCard(f) {
    var m = f.mask;
    var bytes = atob(m.cells);
    var rowsN = Math.ceil(m.rows / m.blockRows), colsN = Math.ceil(m.cols / m.blockCols);
    var canvas = el('canvas', { width: colsN, height: rowsN, 'data-mask': f.name });
    var ctx = canvas.getContext('2d');
    var image = ctx.createImageData(colsN, rowsN);
    var light = [241, 245, 249], dark = [30, 58, 138];
    for (var k = 0; k < rowsN * colsN; k++) {
      var v = bytes.charCodeAt(k) / 255;
      for (var c = 0; c < 3; c++) image.data[4 * k + c] = Math.round(light[c] + (dark[c] - light[c]) * v);
      image.data[4 * k + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    // fit a 300 x 240 box, keeping the aspect ratio (blocks stay square-cornered: pixelated scaling)
    var zoom = Math.min(300 / colsN, 240 / rowsN);
    canvas.style.width = Math.round(colsN * zoom) + 'px';
    canvas.style.height = Math.max(4, Math.round(rowsN * zoom)) + 'px';
    var block = m.blockRows * m.blockCols > 1 ? '; one pixel = ' + m.blockRows + ' \u00d7 ' + m.blockCols + ' weights' : '';
    return el('div', { class: 'mask' }, [
      el('h3', {}, f.name),
      canvas,
      el('div', { class: 'caption' }, [m.rows + ' outputs \u00d7 ' + m.cols + ' inputs' + block + '; ',
        num('span', 'mask.kept', m.kept, int(m.kept)), ' kept']),
    ]);
  }

  function inputMapCard(f) {
    var map = f.inputMap;
    var canvas = el('canvas', { width: map.width, height: map.height, 'data-input-map': f.name });
    var ctx = canvas.getContext('2d');
    var image = ctx.createImageData(map.width, map.height);
    var most = Math.max.apply(null, map.counts.concat([1]));
    map.counts.forEach(function (count, k) {
      var rgb = heat(count / most);
      image.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * k);
    });
    ctx.putImageData(image, 0, 0);
    var zoom = Math.max(1, Math.floor(240 / Math.max(map.width, map.height)));
    canvas.style.width = map.width * zoom + 'px';
    canvas.style.height = map.height * zoom + 'px';
    var legend = el('canvas', { width: 64, height: 1 });
    var lctx = legend.getContext('2d');
    var strip = lctx.createImageData(64, 1);
    for (var x = 0; x < 64; x++) { var rgb = heat(x / 63); strip.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * x); }
    lctx.putImageData(strip, 0, 0);
    var what = map.kind === 'pixels'
      ? 'Weights kept per input pixel (of ' + int(map.max) + ' per pixel): the pixels the pruned first layer still reads.' +
        (map.guessed ? ' The input is flat; its ' + int(map.width * map.height) + ' values are drawn as a ' + map.width + ' × ' + map.height + ' square.' : '')
      : 'Weights kept per kernel tap (of ' + int(map.max) + ' per tap), summed over channels and filters.';
    return el('div', { class: 'mask' }, [
      el('h3', {}, f.name + (map.kind === 'pixels' ? ': input pixels' : ': kernel taps')),
      canvas,
      el('div', { class: 'scale' }, ['0', legend, int(most)]),
      el('div', { class: 'caption' }, what),
    ]);
  }

  /** A perceptual-ish dark-to-bright scale (viridis stops) for counts. */
  function heat(v) {
    var stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
    var x = Math.min(1, Math.max(0, v)) * (stops.length - 1);
    var i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
    return [0, 1, 2].map(function (c) { return Math.round(stops[i][c] + (stops[i + 1][c] - stops[i][c]) * f); });
  }

  // ---- accuracy against fraction kept -----------------------------------------------------------------
  var METHODS = [
    { name: 'Net-Trim', key: 'accuracy', final: 'accuracyAfter', change: 'maxOutputChange', color: 'var(--nettrim)' },
    { name: 'magnitude', key: 'accuracyMagnitude', final: 'accuracyMagnitude', change: 'maxOutputChangeMagnitude', color: 'var(--magnitude)' },
    { name: 'Wanda', key: 'accuracyWanda', final: 'accuracyWanda', change: 'maxOutputChangeWanda', color: 'var(--wanda)' },
    { name: 'SparseGPT', key: 'accuracySparseGpt', final: 'accuracySparseGpt', change: 'maxOutputChangeSparseGpt', color: 'var(--sparsegpt)' },
  ];
  if (report.eval) {
    var e = report.eval;
    var tries = (e.tries || []).slice().sort(function (a, b) { return a.keptFraction - b.keptFraction; });
    section('Accuracy against weights kept',
      'Top-1 accuracy on ' + int(e.samples) + ' held-out samples. The baselines keep the same number of weights in every layer as Net-Trim. ' +
      (tries.length ? 'Lines: the networks the sparsity search tried' + (report.refit ? ' (before the refit)' : '') + '; ringed: the network written.'
        : 'One point per method (the network written); give --sparsity with --eval for a curve over the search\u2019s tries.'));
    root.appendChild(el('div', { class: 'legend' }, METHODS.map(function (m) { return el('span', { style: 'color:' + m.color }, m.name); })
      .concat([el('span', { style: 'color:var(--trained)' }, 'trained')])));
    root.appendChild(accuracyChart(e, tries));
    root.appendChild(el('table', { id: 'accuracy' }, [
      el('thead', {}, el('tr', {}, [el('th', { class: 'l' }, 'network'), el('th', {}, 'top-1 accuracy'), el('th', {}, 'largest output change')])),
      el('tbody', {}, [el('tr', { 'data-method': 'trained' }, [el('td', { class: 'l' }, 'trained'),
        num('td', 'eval.accuracyBefore', e.accuracyBefore, pct(e.accuracyBefore)), el('td', {}, '0')])]
        .concat(METHODS.map(function (m) {
          return el('tr', { 'data-method': m.name }, [el('td', { class: 'l' }, m.name + (m.name === 'Net-Trim' ? '' : ' (same counts)')),
            num('td', 'eval.' + m.final, e[m.final], pct(e[m.final])),
            num('td', 'eval.' + m.change, e[m.change], e[m.change].toPrecision(3))]);
        }))),
    ]));
  }

  function accuracyChart(e, tries) {
    var W = 720, H = 340, L = 56, R = 20, T = 14, B = 44;
    var points = tries.map(function (p) { return p.keptFraction; }).concat([t.keptFraction]);
    var accs = [e.accuracyBefore];
    METHODS.forEach(function (m) { accs.push(e[m.final]); tries.forEach(function (p) { accs.push(p[m.key]); }); });
    var xMax = Math.min(1, Math.max.apply(null, points) * 1.15);
    var yLo = Math.max(0, Math.floor((Math.min.apply(null, accs) - 0.02) * 20) / 20), yHi = Math.min(1, Math.ceil((Math.max.apply(null, accs) + 0.01) * 20) / 20);
    if (yHi - yLo < 0.05) yLo = Math.max(0, yHi - 0.05);
    function X(v) { return L + (W - L - R) * v / xMax; }
    function Y(v) { return T + (H - T - B) * (1 - (v - yLo) / (yHi - yLo)); }
    var chart = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'accuracy against weights kept', id: 'accuracy-chart' });
    ticks(0, xMax, 6).forEach(function (v) {
      chart.appendChild(svg('line', { x1: X(v), x2: X(v), y1: T, y2: H - B, stroke: '#eef2f7' }));
      chart.appendChild(svg('text', { x: X(v), y: H - B + 16, 'text-anchor': 'middle', class: 'muted' }, pct(v).replace('.0%', '%')));
    });
    ticks(yLo, yHi, 5).forEach(function (v) {
      chart.appendChild(svg('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v), stroke: '#eef2f7' }));
      chart.appendChild(svg('text', { x: L - 8, y: Y(v) + 4, 'text-anchor': 'end', class: 'muted' }, pct(v)));
    });
    chart.appendChild(svg('text', { x: (L + W - R) / 2, y: H - 8, 'text-anchor': 'middle' }, 'weights kept (fraction of the prunable weights)'));
    chart.appendChild(svg('text', { x: 14, y: (T + H - B) / 2, 'text-anchor': 'middle', transform: 'rotate(-90 14 ' + (T + H - B) / 2 + ')' }, 'top-1 accuracy'));
    chart.appendChild(svg('line', { x1: L, x2: W - R, y1: Y(e.accuracyBefore), y2: Y(e.accuracyBefore), stroke: 'var(--trained)', 'stroke-dasharray': '5 4' }));
    chart.appendChild(svg('text', { x: W - R - 4, y: Y(e.accuracyBefore) - 5, 'text-anchor': 'end', class: 'muted' }, 'trained ' + pct(e.accuracyBefore)));
    METHODS.forEach(function (m) {
      var g = svg('g', { 'data-series': m.name, fill: m.color, stroke: m.color });
      if (tries.length > 1) {
        g.appendChild(svg('polyline', { fill: 'none', 'stroke-width': 2, points: tries.map(function (p) { return X(p.keptFraction) + ',' + Y(p[m.key]); }).join(' ') }));
      }
      tries.forEach(function (p) {
        g.appendChild(svg('circle', { cx: X(p.keptFraction), cy: Y(p[m.key]), r: 3.5, 'data-kept': p.keptFraction, 'data-accuracy': p[m.key] },
          svg('title', {}, m.name + ': ' + pct(p[m.key]) + ' at ' + pct(p.keptFraction) + ' kept (\u03b5 ' + p.epsilon.toPrecision(3) + ')')));
      });
      g.appendChild(svg('circle', { cx: X(t.keptFraction), cy: Y(e[m.final]), r: 7, fill: 'none', 'stroke-width': 2.5, 'data-final': 'true', 'data-kept': t.keptFraction, 'data-accuracy': e[m.final] },
        svg('title', {}, m.name + ', network written: ' + pct(e[m.final]) + ' at ' + pct(t.keptFraction) + ' kept')));
      chart.appendChild(g);
    });
    return chart;
  }

  function ticks(lo, hi, count) {
    var step = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(step))), nice = [1, 2, 2.5, 5, 10];
    var s = mag * nice.find(function (n) { return n * mag >= step; });
    var out = [];
    for (var v = Math.ceil(lo / s - 1e-9) * s; v <= hi + 1e-9; v += s) out.push(Math.round(v / s) * s);
    return out;
  }

  // ---- sparsity search --------------------------------------------------------------------------------
  if (report.search) {
    var s = report.search;
    section('Sparsity search', 'Target: remove ' + pct(s.target) + ' \u00b1 ' + pct(s.tolerance) + ' of the prunable weights; ' +
      (s.reached ? 'reached' : 'NOT reached within the tolerance') + ' with ' + pct(s.removedFraction) + ' removed' +
      (s.mixed ? ', layers combined from several tries.' : '.'));
    root.appendChild(el('table', { id: 'search' }, [
      el('thead', {}, el('tr', {}, [el('th', {}, 'try'), el('th', {}, 'relative gain \u03b5'), el('th', {}, 'removed'), el('th', {}, 'time')])),
      el('tbody', {}, s.tries.map(function (p, i) {
        return el('tr', { 'data-try': i }, [el('td', {}, i + 1), num('td', 'search.tries.epsilon', p.epsilon, p.epsilon.toPrecision(3)),
          num('td', 'search.tries.removedFraction', p.removedFraction, pct(p.removedFraction)), el('td', {}, p.seconds.toFixed(1) + ' s')]);
      })),
    ]));
  }

  // ---- the data ---------------------------------------------------------------------------------------
  root.appendChild(el('p', { class: 'note' }, 'Solved on ' + report.threads.total + ' thread' + (report.threads.total > 1 ? 's' : '') +
    (report.threads.lanes > 1 ? ', ' + report.threads.lanes + ' programs at a time' : '') + '; ' + int(report.calibrationSamples) + ' calibration samples.'));
  root.appendChild(el('details', {}, [el('summary', {}, 'The JSON report this page was drawn from'),
    el('pre', { id: 'json' }, JSON.stringify(report, null, 2))]));
  document.documentElement.setAttribute('data-rendered', 'true');
})();
`;
