'use strict';
// Draws a cyrconv report (docs/reference.md "HTML report"). The report is the JSON block #cyrconv-report,
// as cyrconv wrote it; every string from it reaches the page as text (textContent, never
// innerHTML), so names and details cannot become markup. No framework, nothing loaded.
(function () {
  var SVGNS = 'http://www.w3.org/2000/svg';

  var FAULTS = CYRCONV_WORDS.faults, VERIFY_KINDS = CYRCONV_WORDS.verify_kinds, EXIT_MEANING = CYRCONV_WORDS.exit_meaning;

  // ---- small helpers ----
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'cls') e.className = attrs[k];
      else if (k === 'style') e.style.cssText = attrs[k];  // CSSOM: no inline style attribute to allow
      else e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }
  function add(parent, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) c.forEach(function (x) { add(parent, x); });
    else parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'fill') e.style.fill = attrs[k];  // may be a CSS variable
      else if (k === 'style') e.style.cssText = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    return e;
  }
  function num(n) { return (n || 0).toLocaleString('en-US'); }
  function bytes(n) {
    n = n || 0;
    var u = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + u[i];
  }
  function plural(n, one, many) { return num(n) + ' ' + (n === 1 ? one : many); }
  function arr(x) { return Array.isArray(x) ? x : []; }
  // A name shows as it is; one the report marks as not UTF-8 also shows its bytes escaped.
  function nameNode(f, key) {
    var s = String(f[key] === undefined ? '' : f[key]);
    var span = el('span', {cls: 'name'}, s === '' && key === 'user' ? '(shared and deleted folders)' : s);
    if (typeof f.name_bytes === 'string' && key === 'name') add(span, el('span', {cls: 'escaped mono', text: ' [bytes: ' + f.name_bytes + ']'}));
    else if (s.indexOf('\uFFFD') >= 0) add(span, el('span', {cls: 'escaped', text: ' (not UTF-8: bytes shown as \uFFFD)'}));
    return span;
  }

  // ---- the report, made uniform across its kinds ----
  var page = JSON.parse(document.getElementById('cyrconv-page').textContent);
  var R = JSON.parse(document.getElementById('cyrconv-report').textContent);
  var S = JSON.parse(document.getElementById('cyrconv-strings').textContent);
  performance.mark('cyrconv-parsed');

  // ---- rows: entries and findings as the writer compacts them (writers/html_rows.h) ----
  var SEV = ['info', 'warning', 'error'];
  function str(v) { return typeof v === 'number' ? S[v] : v; }
  function findingOf(x, file) {
    if (!Array.isArray(x)) return x || {};
    var f = {severity: typeof x[0] === 'number' ? SEV[x[0]] : x[0], kind: str(x[1]), file: x[2] === null ? file : x[2],
             offset: x[3], uid: x[4], detail: str(x[5])};
    if (x[6]) for (var k in x[6]) if (!(k in f)) f[k] = x[6][k];
    return f;
  }
  function findingsOf(list, file) { return arr(list).map(function (x) { return findingOf(x, file); }); }
  function sevOf(x) { return Array.isArray(x) ? (typeof x[0] === 'number' ? SEV[x[0]] : x[0]) : (x || {}).severity; }
  function kindOf(x) { return String(Array.isArray(x) ? str(x[1]) : (x || {}).kind); }
  function rowFindings(x) { return Array.isArray(x) ? arr(x[8]) : arr((x || {}).findings); }
  function rowSize(x) { return Array.isArray(x) ? x[3] : (x || {}).size; }
  function rowAction(x) { return String(Array.isArray(x) ? str(x[4]) : (x || {}).action); }
  // A folder's entries as objects, in order: a null file is <uid>. beside the file before it.
  function entriesOf(list) {
    var dir = '';
    return list.map(function (x) {
      if (!Array.isArray(x)) return x || {};
      var file = x[1];
      if (file === null && dir) file = dir + '/' + x[0] + '.';
      else if (typeof file === 'string') { var s = file.lastIndexOf('/'); dir = s > 0 ? file.slice(0, s) : ''; }
      var m = {uid: x[0], file: file, orphan: x[2] === 1 || x[2] === true, size: x[3], action: str(x[4]),
               changes: arr(x[5]).map(str), reason: str(x[6]), recover_folder: str(x[7]), findings: findingsOf(x[8], file)};
      if (x[9]) for (var k in x[9]) if (!(k in m)) m[k] = x[9][k];
      return m;
    });
  }
  var kind = String(R.schema || '').replace('cyrconv-', '');
  var T = R.totals || {};

  function sevCount(list, c) {
    for (var i = 0; i < list.length; i++) {
      var s = sevOf(list[i]);
      if (s === 'error') c.errors++; else if (s === 'warning') c.warnings++; else c.infos++;
    }
  }
  var faults = Object.create(null);  // kind -> {count, bytes, sized}
  function countFaults(list, size) {
    for (var i = 0; i < list.length; i++) {
      var k = kindOf(list[i]);
      var f = faults[k] || (faults[k] = {count: 0, bytes: 0, sized: 0});
      f.count++;
      if (typeof size === 'number') { f.bytes += size; f.sized++; }
    }
  }
  function folderOf(f) {
    var acc = f.accounting || f.count || {};
    var entries = arr(f.messages);
    var o = {
      raw: f, name: f.name, messages: kind === 'scan' ? (f.messages || 0) : (acc.messages || 0),
      bytes: kind === 'scan' ? (f.bytes || 0) : (kind === 'convert' ? (f.bytes_written || 0) : (f.bytes_read || 0)),
      findings: findingsOf(f.findings), entries: entries, errors: 0, warnings: 0, infos: 0, version: f.index_version
    };
    sevCount(o.findings, o);
    countFaults(o.findings);
    for (var i = 0; i < entries.length; i++) {
      var fl = rowFindings(entries[i]);
      sevCount(fl, o);
      countFaults(fl, rowSize(entries[i]));
    }
    return o;
  }
  var users = arr(R.users).map(function (u) {
    var o = {raw: u, name: String(u.user || ''), folders: arr(u.folders).map(folderOf),
             findings: findingsOf(u.findings), messages: 0, bytes: 0, errors: 0, warnings: 0, infos: 0, largest: null};
    sevCount(o.findings, o);
    countFaults(o.findings);
    o.folders.forEach(function (f) {
      o.messages += f.messages; o.bytes += f.bytes;
      o.errors += f.errors; o.warnings += f.warnings; o.infos += f.infos;
      if (!o.largest || f.bytes > o.largest.bytes) o.largest = f;
    });
    return o;
  });
  var storeFindings = findingsOf(R.findings);
  countFaults(storeFindings);
  if (kind === 'audit' && T.fault_counts) {  // the report's own count of each class
    for (var fk in T.fault_counts) (faults[fk] || (faults[fk] = {count: 0, bytes: 0, sized: 0})).count = T.fault_counts[fk];
  }
  performance.mark('cyrconv-counted');
  var allBytes = users.reduce(function (s, u) { return s + u.bytes; }, 0);
  var folderCount = users.reduce(function (s, u) { return s + u.folders.length; }, 0);

  // ---- exit status and verdict ----
  function derivedExit() {
    if (kind === 'audit') return T.folders === 0 ? 3 : (R.problems_found ? 1 : 0);
    if (kind === 'verify') return R.verified ? 0 : (arr(R.users).length ? 1 : 3);
    if (kind === 'scan') return T.folders === 0 ? 3 : (T.errors ? 1 : 0);
    if (R.stopped) return 4;
    if (T.folders === 0) return 3;
    return (T.errors || T.repaired || T.quarantined || T.missing || T.not_converted || T.orphans) ? 1 : 0;
  }
  var exitStatus = page.exit_status === null || page.exit_status === undefined ? derivedExit() : page.exit_status;

  function joinParts(parts) {
    parts = parts.filter(function (p) { return p; });
    if (parts.length <= 1) return parts.join('');
    return parts.slice(0, -1).join(', ') + ' and ' + parts[parts.length - 1];
  }
  function verdict() {
    var m = T.messages || 0;
    if (kind === 'scan') {
      var bad = joinParts([T.missing_files && plural(T.missing_files, 'message file is missing', 'message files are missing'),
                           T.orphan_files && plural(T.orphan_files, 'file is an orphan', 'files are orphans'),
                           T.errors && plural(T.errors, 'error', 'errors')]);
      return {cls: bad ? 'bad' : 'good',
              text: plural(m, 'message', 'messages') + ' in ' + plural(T.folders || 0, 'folder', 'folders') + ' of ' +
                    plural(T.users || 0, 'user', 'users') + (bad ? ': ' + bad + '.' : ', every one with its file; no index error.')};
    }
    if (kind === 'verify') {
      if (R.verified) return {cls: 'good', text: 'Every one of ' + plural(m, 'message', 'messages') + ' is accounted for in the output.'};
      var vbad = joinParts([T.lost && plural(T.lost, 'message is lost', 'messages are lost'),
                            T.mismatched && plural(T.mismatched, 'message differs', 'messages differ'),
                            T.errors && plural(T.errors, 'error', 'errors')]);
      return {cls: 'bad', text: 'Not verified: ' + (vbad || 'see the findings') + ' (of ' + num(m) + ' messages).'};
    }
    var would = kind === 'audit';
    var parts = [T.repaired && plural(T.repaired, would ? 'message would be repaired' : 'message was repaired', would ? 'messages would be repaired' : 'messages were repaired'),
                 T.quarantined && plural(T.quarantined, would ? 'would be quarantined' : 'was quarantined', would ? 'would be quarantined' : 'were quarantined'),
                 T.missing && plural(T.missing, 'is missing', 'are missing'),
                 T.not_converted && plural(T.not_converted, would ? 'would not be converted' : 'was not converted', would ? 'would not be converted' : 'were not converted'),
                 T.orphans && plural(T.orphans, 'orphan file', 'orphan files') + (would ? ' would be recovered' : ' recovered')];
    var balanced = T.balanced !== false;
    if (R.stopped) return {cls: 'bad', text: 'The run stopped early: ' + String(R.stop_reason || '') + '. Run it again to resume.'};
    if (!balanced) return {cls: 'bad', text: 'The accounting does not balance: ' + num(m) + ' messages in the index are not all accounted for.'};
    var list = joinParts(parts);
    if (!list) return {cls: 'good', text: 'Every one of ' + plural(m, 'message', 'messages') + ' is accounted for' +
                        (would ? ' and would be converted unchanged.' : ' and was written unchanged' + (T.earlier ? ' or by an earlier run.' : '.'))};
    return {cls: T.quarantined || T.missing || T.not_converted || T.errors ? 'bad' : 'warn',
            text: 'Every one of ' + plural(m, 'message', 'messages') + ' is accounted for: ' + list + '.'};
  }

  // ---- sections ----
  var app = document.getElementById('app');
  app.textContent = '';

  function header() {
    var title = {scan: 'Store scan', audit: 'Corruption audit', convert: 'Conversion', verify: 'Verification'}[kind] || 'Report';
    document.title = 'cyrconv ' + kind + ' report';
    var seconds = typeof T.seconds === 'number' ? T.seconds : R.seconds;
    var run = el('p', {cls: 'run', id: 'run-line'},
      el('span', null, arr(R.inputs).join(', ') || 'no inputs listed'),
      R.out ? el('span', null, 'output ' + R.out + (R.format ? ' (' + R.format + ')' : '')) : null,
      R.on_corrupt ? el('span', {cls: 'nowrap'}, '--on-corrupt=' + R.on_corrupt) : null,
      R.shards && typeof R.shards === 'object' ? el('span', {cls: 'nowrap'}, 'merged from ' + plural(R.shards.count || 0, 'shard', 'shards')) : null,
      el('span', {cls: 'nowrap'}, 'cyrconv ' + (R.tool_version || '?')),
      page.report_time ? el('span', {cls: 'nowrap'}, page.report_time) : null,
      typeof seconds === 'number' ? el('span', null, seconds < 1 ? Math.round(seconds * 1000) + ' ms' : seconds.toFixed(seconds < 10 ? 1 : 0) + ' s') : null,
      el('span', {id: 'exit-status'}, 'exit status ' + exitStatus + ': ' + (EXIT_MEANING[exitStatus] || 'unknown') +
        (page.exit_status === null || page.exit_status === undefined ? ' (as the report implies)' : '')));
    var v = verdict();
    add(app, [el('h1', null, 'cyrconv: ' + title), run, el('p', {cls: 'verdict ' + v.cls, id: 'verdict'}, v.text)]);
    if (R.report_incomplete) add(app, el('p', {cls: 'verdict bad'}, 'The report is incomplete: ' + String(R.report_incomplete)));
  }

  function accountingSegments() {
    if (kind === 'scan') {
      var m = T.messages || 0, miss = T.missing_files || 0;
      return [['present', 'with their file', m - miss, 'var(--ok)'], ['missing', 'file missing', miss, 'var(--missing)'],
              ['orphans', 'orphan files', T.orphan_files || 0, 'var(--recover)'],
              ['expunged_present', 'expunged, file still there', T.expunged_present || 0, 'var(--other)']];
    }
    if (kind === 'verify') {
      return [['verified', 'verified', T.verified, 'var(--ok)'], ['quarantined', 'quarantined', T.quarantined, 'var(--quar)'],
              ['listed_missing', 'listed missing', T.listed_missing, 'var(--missing)'],
              ['skipped_deleted', 'skipped (\\Deleted)', T.skipped_deleted, 'var(--earlier)'],
              ['not_converted', 'not converted', T.not_converted, 'var(--other)'],
              ['mismatched', 'mismatched', T.mismatched, '#e65100'], ['lost', 'lost', T.lost, '#000']];
    }
    return [['written', 'written', T.written, 'var(--ok)'], ['repaired', 'repaired', T.repaired, 'var(--repair)'],
            ['quarantined', 'quarantined', T.quarantined, 'var(--quar)'], ['missing', 'missing', T.missing, 'var(--missing)'],
            ['orphans_recovered', 'recovered (orphans)', T.orphans_recovered, 'var(--recover)'],
            ['orphans_quarantined', 'orphans quarantined', T.orphans_quarantined, '#8e2b20'],
            ['not_converted', 'not converted', T.not_converted, 'var(--other)'],
            ['earlier', 'by an earlier run', T.earlier, 'var(--earlier)'],
            ['skipped_deleted', 'skipped (\\Deleted)', T.skipped_deleted, '#b0bec5']];
  }
  function accounting() {
    var segs = accountingSegments().map(function (s) { return {key: s[0], label: s[1], n: s[2] || 0, color: s[3]}; });
    var total = segs.reduce(function (s, x) { return s + x.n; }, 0);
    var bar = svg('svg', {'class': 'stacked', viewBox: '0 0 1000 34', preserveAspectRatio: 'none', role: 'img',
                          'aria-label': 'accounting of the messages'});
    var x = 0;
    segs.forEach(function (s) {
      if (!s.n) return;
      var w = s.n / total * 1000;
      var r = svg('rect', {x: x, y: 0, width: Math.max(w, 2), height: 34, fill: s.color, 'data-acc': s.key});
      add(r, svg('title', {text: s.label + ': ' + num(s.n)}));
      bar.appendChild(r);
      x += w;
    });
    if (!total) bar.appendChild(svg('rect', {x: 0, y: 0, width: 1000, height: 34, fill: '#e3e8ee'}));
    var legend = el('ul', {cls: 'legend', id: 'accounting-legend'}, segs.filter(function (s) { return s.n || ['written', 'verified', 'present'].indexOf(s.key) >= 0; }).map(function (s) {
      return el('li', {'data-acc': s.key, 'data-value': String(s.n)}, el('span', {cls: 'swatch', style: 'background:' + s.color}),
                el('span', null, s.label), el('span', {cls: 'num'}, num(s.n)));
    }));
    var m = T.messages || 0;
    var sub = kind === 'scan' ? 'Messages the indexes list (' + num(m) + ') and message files on disk no index lists.'
      : kind === 'verify' ? 'Source messages (' + num(m) + '): verified = in the output and checked; ' + (T.balanced === false ? 'does NOT balance.' : 'balances.') + (T.extra ? ' Extra messages in the output: ' + num(T.extra) + '.' : '')
      : 'Messages in the index (' + num(m) + ') = written + repaired + quarantined + missing + not converted' +
        (kind === 'convert' ? ' + earlier' : '') + '; orphans (' + num(T.orphans) + ') = recovered + quarantined. ' +
        (T.balanced === false ? 'It does NOT balance.' : 'It balances.');
    add(app, [el('h2', null, 'Accounting'), el('div', {id: 'accounting', 'data-messages': String(m)}, bar, legend),
              el('p', {cls: 'note'}, sub)]);
  }

  // The width a chart gets: charts stand in pairs in a wide window (.charts in page.css), so
  // drawing at that width keeps their text at its size.
  function chartWidth(max) {
    var w = app.clientWidth || max;
    return Math.round(Math.max(280, Math.min(max, (w > 760 ? (w - 18) / 2 : w) - 22)));
  }

  // Horizontal bars, each row: label (a link when href is given), bar, value.
  function barChart(rows, fmt, idAttr) {
    // Drawn at the width it gets (a narrow window: text stays its size, bars get shorter).
    var width = chartWidth(640);
    var rowH = 22, labelW = Math.round(width * 0.36), valueW = 80, barW = width - labelW - valueW;
    var maxChars = Math.floor(labelW / 7);
    var max = rows.reduce(function (m, r) { return Math.max(m, r.value); }, 0) || 1;
    var s = svg('svg', {viewBox: '0 0 ' + width + ' ' + (rows.length * rowH + 4), role: 'img', style: 'max-width:' + width + 'px'});
    rows.forEach(function (r, i) {
      var y = i * rowH + 2;
      var g = svg('g', {}); g.setAttribute(idAttr, r.key); g.setAttribute('data-value', String(r.value));
      var label = svg('text', {x: labelW - 8, y: y + 15, 'text-anchor': 'end', text: r.label.length > maxChars ? r.label.slice(0, maxChars - 1) + '…' : r.label});
      if (r.href) { var a = svg('a', {href: r.href}); a.appendChild(label); g.appendChild(a); } else g.appendChild(label);
      var rect = svg('rect', {x: labelW, y: y + 3, height: rowH - 8, width: Math.max(r.value / max * barW, r.value ? 2 : 0), fill: r.color || 'var(--bar)'});
      add(rect, svg('title', {text: r.label + ': ' + fmt(r.value)}));
      g.appendChild(rect);
      g.appendChild(svg('text', {x: labelW + Math.max(r.value / max * barW, 0) + 6, y: y + 15, 'class': 'value', text: fmt(r.value)}));
      s.appendChild(g);
    });
    return s;
  }
  function faultInfo(k) { return Object.prototype.hasOwnProperty.call(FAULTS, k) ? FAULTS[k] : null; }
  function sevColor(k) {
    var f = faultInfo(k);
    var sev = f ? f[2] : null;
    return sev === 'error' ? 'var(--quar)' : sev === 'warning' ? 'var(--repair)' : 'var(--bar)';
  }
  function faultSection() {
    var kinds = Object.keys(faults).sort(function (a, b) { return faults[b].count - faults[a].count || (a < b ? -1 : 1); });
    add(app, el('h2', null, 'Fault classes'));
    if (!kinds.length) { add(app, el('p', {id: 'no-faults'}, 'No finding of any class.')); return; }
    var rows = kinds.map(function (k) { return {key: k, label: k, value: faults[k].count, href: '#fault-' + k, color: sevColor(k)}; });
    var sized = kinds.filter(function (k) { return faults[k].sized; });
    var byBytes = sized.length
      ? barChart(sized.map(function (k) { return {key: k, label: k, value: faults[k].bytes, href: '#fault-' + k, color: sevColor(k)}; })
                   .sort(function (a, b) { return b.value - a.value; }), bytes, 'data-fault-bytes')
      : el('p', {cls: 'note'}, 'This report lists no message sizes, so the classes cannot be weighed in bytes.');
    add(app, el('div', {cls: 'charts'},
      el('div', {cls: 'chart', id: 'faults-by-count'}, el('h3', null, 'By number of findings'), barChart(rows, num, 'data-fault')),
      el('div', {cls: 'chart', id: 'faults-by-bytes'}, el('h3', null, 'By bytes of the messages concerned'), byBytes)));
    var table = el('table', {cls: 'kinds', id: 'fault-explanations'},
      el('thead', null, el('tr', null, ['class', 'found', 'level', 'found by', 'severity',
                                        kind === 'verify' ? 'meaning' : 'convert (repair policy) does'].map(function (h, i) {
        return el('th', {cls: i === 1 ? 'num' : ''}, h);
      }))));
    var tb = el('tbody');
    kinds.forEach(function (k) {
      var f = faultInfo(k);
      var tr = el('tr', {id: 'fault-' + k}, el('td', null, el('code', null, k)), el('td', {cls: 'num'}, num(faults[k].count)));
      if (f) add(tr, f.map(function (c) { return el('td', null, c); }));
      else if (kind === 'verify') add(tr, el('td', {colspan: '4', cls: 'note'}, Object.prototype.hasOwnProperty.call(VERIFY_KINDS, k) ? VERIFY_KINDS[k]
        : 'the output differs from the source; each finding names the file, the UID and what was expected'));
      else add(tr, el('td', {colspan: '4', cls: 'note'}, 'a finding of the ' + kind + ' pass; each says what was expected and found (docs/reference.md lists every kind)'));
      tb.appendChild(tr);
    });
    table.appendChild(tb);
    add(app, [el('h3', null, 'What each class means'), el('div', {cls: 'scroll'}, table)]);
  }

  // ---- users table: sortable, filterable, paged; each row expands to its folders ----
  var USER_PAGE = 200, ENTRY_PAGE = 50;
  function shareCell(b) {
    var pct = allBytes ? b / allBytes * 100 : 0;
    return el('td', {cls: 'num', 'data-bytes': String(b)}, el('div', {cls: 'share'}, el('span', null, bytes(b)),
      el('span', {cls: 'track', title: pct.toFixed(1) + '% of all bytes'}, el('span', {cls: 'fill', style: 'display:block;width:' + pct.toFixed(2) + '%'}))));
  }
  function countCell(n, cls) { return el('td', {cls: 'num ' + (n ? cls : 'zero')}, num(n)); }
  function usersSection() {
    add(app, el('h2', null, 'Users'));
    var state = {key: 'bytes', dir: -1, filter: '', shown: USER_PAGE, open: Object.create(null)};
    var cols = [['name', 'User', ''], ['folders', 'Folders', 'num'], ['messages', 'Messages', 'num'], ['bytes', 'Bytes (share)', 'num'],
                ['errors', 'Errors', 'num'], ['warnings', 'Warnings', 'num']];
    if (kind === 'verify') cols.push(['infos', 'Infos', 'num']);
    cols.push(['largest', 'Largest folder', 'hide-narrow']);
    var value = {
      name: function (u) { return u.name.toLowerCase(); }, folders: function (u) { return u.folders.length; },
      messages: function (u) { return u.messages; }, bytes: function (u) { return u.bytes; },
      errors: function (u) { return u.errors; }, warnings: function (u) { return u.warnings; }, infos: function (u) { return u.infos; },
      largest: function (u) { return u.largest ? u.largest.bytes : 0; }
    };
    var filter = el('input', {type: 'search', id: 'user-filter', placeholder: 'Filter users and folders', 'aria-label': 'filter users and folders'});
    var count = el('span', {cls: 'note', id: 'user-count'});
    var head = el('tr', null, cols.map(function (c) {
      var th = el('th', {cls: 'sortable ' + c[2], 'data-key': c[0], tabindex: '0'}, c[1]);
      var sort = function () {
        state.dir = state.key === c[0] ? -state.dir : (c[0] === 'name' ? 1 : -1);
        state.key = c[0];
        render();
      };
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter') sort(); });
      return th;
    }));
    var tbody = el('tbody');
    var table = el('table', {id: 'users-table'}, el('thead', null, head), tbody);
    var more = el('button', {cls: 'more', type: 'button'}, 'Show more users');
    more.addEventListener('click', function () { state.shown += USER_PAGE; render(); });
    filter.addEventListener('input', function () { state.filter = filter.value.toLowerCase(); state.shown = USER_PAGE; render(); });
    add(app, [el('div', {cls: 'controls'}, filter, count), el('div', {cls: 'scroll'}, table), more]);

    function matches(u) {
      if (!state.filter) return true;
      if (u.name.toLowerCase().indexOf(state.filter) >= 0) return true;
      return u.folders.some(function (f) { return String(f.name).toLowerCase().indexOf(state.filter) >= 0; });
    }
    function render() {
      Array.prototype.forEach.call(head.children, function (th) {
        if (th.getAttribute('data-key') === state.key) th.setAttribute('aria-sort', state.dir > 0 ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
      });
      var get = value[state.key];
      var list = users.filter(matches).sort(function (a, b) {
        var x = get(a), y = get(b);
        return (x < y ? -1 : x > y ? 1 : (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) * state.dir;
      });
      tbody.textContent = '';
      list.slice(0, state.shown).forEach(function (u) {
        var btn = el('button', {cls: 'expand', type: 'button', 'aria-expanded': 'false', title: 'show the folders'}, '▸');
        var tr = el('tr', {cls: 'user-row'},
          el('td', {cls: 'name'}, btn, nameNode(u.raw, 'user')), el('td', {cls: 'num'}, num(u.folders.length)),
          el('td', {cls: 'num'}, num(u.messages)), shareCell(u.bytes), countCell(u.errors, 'sev-error'),
          countCell(u.warnings, 'sev-warning'), kind === 'verify' ? countCell(u.infos, 'sev-info') : null,
          el('td', {cls: 'name hide-narrow'}, u.largest ? [nameNode(u.largest.raw, 'name'), el('span', {cls: 'note'}, ' ' + bytes(u.largest.bytes))] : ''));
        tr.setAttribute('data-user', u.name);
        tbody.appendChild(tr);
        var detail = null;
        var toggle = function () {
          if (detail) { detail.remove(); detail = null; delete state.open[u.name]; btn.textContent = '▸'; btn.setAttribute('aria-expanded', 'false'); return; }
          detail = el('tr', {cls: 'detail'}, el('td', {colspan: String(cols.length)}, userDetail(u)));
          tr.after(detail); state.open[u.name] = true; btn.textContent = '▾'; btn.setAttribute('aria-expanded', 'true');
        };
        btn.addEventListener('click', toggle);
        if (state.open[u.name]) toggle();
      });
      count.textContent = num(Math.min(list.length, state.shown)) + ' of ' + plural(list.length, 'user', 'users') +
        (list.length < users.length ? ' (filtered from ' + num(users.length) + ')' : '');
      more.style.display = list.length > state.shown ? '' : 'none';
    }
    render();
  }

  function findingsList(list) {
    return el('ul', {cls: 'findings'}, list.map(function (f) {
      return el('li', null, el('span', {cls: 'sev-' + f.severity}, String(f.severity)), ' ', el('code', null, String(f.kind)),
        f.uid ? ' UID ' + f.uid : '', ': ', String(f.detail || ''), f.file ? el('span', {cls: 'note mono'}, ' ' + f.file + (f.offset ? ' @' + f.offset : '')) : null);
    }));
  }
  function userDetail(u) {
    var box = el('div');
    if (u.findings.length) add(box, [el('h3', null, 'Findings about the user'), findingsList(u.findings)]);
    var tb = el('tbody');
    var extraCol = kind === 'audit' || kind === 'scan' ? 'Index' : (kind === 'convert' ? 'Target' : 'Output');
    var table = el('table', {cls: 'folders'}, el('thead', null, el('tr', null,
      el('th', null, 'Folder'), el('th', {cls: 'num'}, 'Messages'), el('th', {cls: 'num'}, 'Bytes'),
      el('th', {cls: 'num'}, 'Errors'), el('th', {cls: 'num'}, 'Warnings'), el('th', {cls: 'hide-narrow'}, extraCol))), tb);
    u.folders.forEach(function (f) {
      var has = f.findings.length || f.entries.length;
      var btn = has ? el('button', {cls: 'expand', type: 'button', 'aria-expanded': 'false', title: 'show the findings'}, '▸') : null;
      var extra = kind === 'audit' || kind === 'scan' ? (f.version ? 'v' + f.version : '—') : String((kind === 'convert' ? f.raw.target : f.raw.output) || '');
      var tr = el('tr', {cls: 'folder-row'}, el('td', {cls: 'name'}, btn, nameNode(f.raw, 'name'),
          f.raw.failed ? el('span', {cls: 'sev-error'}, ' stopped: ' + String(f.raw.fail_reason || '')) : null),
        el('td', {cls: 'num'}, num(f.messages)), el('td', {cls: 'num'}, bytes(f.bytes)),
        countCell(f.errors, 'sev-error'), countCell(f.warnings, 'sev-warning'), el('td', {cls: 'hide-narrow mono'}, extra));
      tb.appendChild(tr);
      if (!btn) return;
      var detail = null;
      btn.addEventListener('click', function () {
        if (detail) { detail.remove(); detail = null; btn.textContent = '▸'; btn.setAttribute('aria-expanded', 'false'); return; }
        detail = el('tr', {cls: 'detail'}, el('td', {colspan: '6'}, folderDetail(f)));
        tr.after(detail); btn.textContent = '▾'; btn.setAttribute('aria-expanded', 'true');
      });
    });
    add(box, el('div', {cls: 'scroll'}, table));
    return box;
  }

  // A folder's findings, then its per-message entries a page at a time (a folder may hold 100,000).
  function folderDetail(f) {
    var box = el('div');
    if (f.raw.directory) add(box, el('p', {cls: 'note mono'}, String(f.raw.directory)));
    if (f.findings.length > ENTRY_PAGE) add(box, pagedFindings(f.findings));
    else if (f.findings.length) add(box, findingsList(f.findings));
    if (!f.entries.length) return box;
    var entries = entriesOf(f.entries), at = 0, actionFilter = '';
    var actions = Object.create(null);
    entries.forEach(function (m) { actions[m.action] = (actions[m.action] || 0) + 1; });
    var select = el('select', {'aria-label': 'filter by action'}, el('option', {value: ''}, 'every action'),
      Object.keys(actions).sort().map(function (a) { return el('option', {value: a}, a + ' (' + num(actions[a]) + ')'); }));
    var info = el('span', {cls: 'note'});
    var prev = el('button', {type: 'button'}, '‹ previous'), next = el('button', {type: 'button'}, 'next ›');
    var tb = el('tbody');
    var list = entries;
    function render() {
      tb.textContent = '';
      list.slice(at, at + ENTRY_PAGE).forEach(function (m) {
        tb.appendChild(el('tr', null, el('td', {cls: 'num'}, m.uid === undefined ? '' : String(m.uid)),
          el('td', null, el('span', {cls: 'action ' + String(m.action).replace(/[^a-z_]/g, '')}, String(m.action)), m.orphan ? ' (orphan)' : ''),
          el('td', null, arr(m.changes).join('; '), m.recover_folder ? ' → ' + m.recover_folder : ''),
          el('td', null, String(m.reason || '')),
          el('td', null, findingsList(arr(m.findings))),
          el('td', {cls: 'mono hide-narrow'}, String(m.file || ''))));
      });
      info.textContent = list.length ? 'entries ' + num(at + 1) + '–' + num(Math.min(at + ENTRY_PAGE, list.length)) + ' of ' + num(list.length) : 'no entry';
      prev.disabled = at === 0;
      next.disabled = at + ENTRY_PAGE >= list.length;
    }
    prev.addEventListener('click', function () { at = Math.max(0, at - ENTRY_PAGE); render(); });
    next.addEventListener('click', function () { at += ENTRY_PAGE; render(); });
    select.addEventListener('change', function () {
      actionFilter = select.value;
      list = actionFilter ? entries.filter(function (m) { return m.action === actionFilter; }) : entries;
      at = 0; render();
    });
    add(box, [el('h3', null, 'Messages (' + num(entries.length) + ')'), el('div', {cls: 'pager'}, prev, next, info, select),
      el('div', {cls: 'scroll'}, el('table', {cls: 'entries'}, el('thead', null, el('tr', null, ['UID', 'Action', 'Changes', 'Reason', 'Findings', 'File'].map(function (h, i) {
        return el('th', {cls: i === 5 ? 'hide-narrow' : (i === 0 ? 'num' : '')}, h);
      }))), tb))]);
    render();
    return box;
  }
  function pagedFindings(all) {
    var at = 0, box = el('div'), holder = el('div');
    var info = el('span', {cls: 'note'}), prev = el('button', {type: 'button'}, '‹ previous'), next = el('button', {type: 'button'}, 'next ›');
    function render() {
      holder.textContent = '';
      holder.appendChild(findingsList(all.slice(at, at + ENTRY_PAGE)));
      info.textContent = 'findings ' + num(at + 1) + '–' + num(Math.min(at + ENTRY_PAGE, all.length)) + ' of ' + num(all.length);
      prev.disabled = at === 0; next.disabled = at + ENTRY_PAGE >= all.length;
    }
    prev.addEventListener('click', function () { at = Math.max(0, at - ENTRY_PAGE); render(); });
    next.addEventListener('click', function () { at += ENTRY_PAGE; render(); });
    add(box, [el('div', {cls: 'pager'}, prev, next, info), holder]);
    render();
    return box;
  }

  // ---- store: index versions, layouts, size histograms ----
  function layoutOf(dir) {
    if (/\/uuid\/[^/]\/[^/]\//.test(dir)) return 'by mailbox id (uuid/, Cyrus 3.6+)';
    if (/\/domain\/[^/]\/[^/]+\//.test(dir)) return 'domain split (domain/…)';
    if (/\/[A-Za-z]\/user\//.test(dir) || /\/[A-W]\/user\//.test(dir)) return 'name-based, hashed (hashimapspool)';
    if (/\/user\//.test(dir)) return 'name-based, not hashed';
    if (/\/DELETED\//.test(dir)) return 'deleted hierarchy';
    return 'shared or other';
  }
  function smallTable(id, head, rows) {
    return el('table', {id: id}, el('thead', null, el('tr', null, head.map(function (h, i) { return el('th', {cls: i ? 'num' : ''}, h); }))),
      el('tbody', null, rows.map(function (r) { return el('tr', null, r.map(function (c, i) { return el('td', {cls: i ? 'num' : ''}, c); })); })));
  }
  function storeSection() {
    add(app, el('h2', null, 'Store'));
    var versions = Object.create(null), layouts = Object.create(null);
    if (kind === 'scan' && T.index_versions) for (var v in T.index_versions) versions[v] = T.index_versions[v];
    users.forEach(function (u) {
      u.folders.forEach(function (f) {
        if (kind !== 'scan' && f.version !== undefined) versions[f.version] = (versions[f.version] || 0) + 1;
        if (f.raw.directory) { var l = layoutOf(String(f.raw.directory)); layouts[l] = (layouts[l] || 0) + 1; }
      });
    });
    var vrows = Object.keys(versions).sort(function (a, b) { return a - b; }).map(function (v) {
      return [v === '0' ? 'unreadable (0)' : 'cyrus.index v' + v, num(versions[v])];
    });
    var lrows = Object.keys(layouts).sort().map(function (l) { return [l, num(layouts[l])]; });
    var grid = el('div', {cls: 'small-tables'});
    add(grid, el('div', null, el('h3', null, 'Index versions'), vrows.length ? smallTable('index-versions', ['version', 'folders'], vrows)
      : el('p', {cls: 'note'}, 'This kind of report does not list index versions.')));
    add(grid, el('div', null, el('h3', null, 'Spool layouts'), lrows.length ? smallTable('layouts', ['layout (from the folders\' directories)', 'folders'], lrows)
      : el('p', {cls: 'note'}, 'This kind of report does not list the folders\' directories.'),
      R.mailboxes_db_format ? el('p', {cls: 'note'}, 'mailboxes.db: ' + R.mailboxes_db_format + ' (' + String(R.mailboxes_db || '') + ')') : null));
    add(app, grid);

    var charts = el('div', {cls: 'charts'});
    var ms = T.message_sizes;
    var mbox = el('div', {cls: 'chart', id: 'message-sizes'}, el('h3', null, 'Message sizes (log scale)'));
    if (ms && Array.isArray(ms.log2_counts)) add(mbox, histogram(ms.log2_counts, 'messages'));
    else add(mbox, el('p', {cls: 'note'}, 'This kind of report holds no per-message sizes (scan and audit reports do).'));
    var fb = [];
    users.forEach(function (u) { u.folders.forEach(function (f) { var b = log2Bucket(f.bytes); fb[b] = (fb[b] || 0) + 1; }); });
    for (var i = 0; i < fb.length; i++) fb[i] = fb[i] || 0;
    add(charts, [mbox, el('div', {cls: 'chart', id: 'folder-sizes'}, el('h3', null, 'Folder sizes (log scale)'),
      folderCount ? histogram(fb, 'folders') : el('p', {cls: 'note'}, 'No folder.'))]);
    add(app, charts);
  }
  function log2Bucket(n) { return n <= 0 ? 0 : Math.floor(Math.log2(n)) + 1; }
  function sizeLabel(b) {  // bucket b holds sizes in [2^(b-1), 2^b); bucket 0 is empty things
    if (b === 0) return '0';
    var n = Math.pow(2, b - 1), u = ['', 'K', 'M', 'G', 'T'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return n + u[i];
  }
  // Columns over size buckets (log2 of bytes), heights by count.
  function histogram(counts, what) {
    var first = 0, last = counts.length - 1;
    while (first < last && !counts[first]) first++;
    while (last > first && !counts[last]) last--;
    var W = chartWidth(600);
    var n = last - first + 1, H = 170, base = 140, colW = W / Math.max(n, 1);
    var max = Math.max.apply(null, counts.slice(first, last + 1).concat([1]));
    var s = svg('svg', {viewBox: '0 -14 ' + W + ' ' + (H + 14), role: 'img', 'aria-label': what + ' by size', style: 'max-width:' + W + 'px'});
    for (var b = first; b <= last; b++) {
      var c = counts[b] || 0, h = c / max * (base - 10), x = (b - first) * colW;
      var r = svg('rect', {x: x + 2, y: base - h, width: Math.max(colW - 4, 1), height: h, fill: 'var(--bar)'});
      add(r, svg('title', {text: num(c) + ' ' + what + ' of ' + sizeLabel(b) + (b ? '–' + sizeLabel(b + 1) : '') + ' bytes'}));
      s.appendChild(r);
      if (c) s.appendChild(svg('text', {x: x + colW / 2, y: base - h - 3, 'text-anchor': 'middle', 'class': 'axis', text: num(c)}));
      if (n <= 16 || (b - first) % 2 === 0) s.appendChild(svg('text', {x: x + colW / 2, y: base + 16, 'text-anchor': 'middle', 'class': 'axis', text: sizeLabel(b)}));
    }
    s.appendChild(svg('text', {x: W / 2, y: base + 32, 'text-anchor': 'middle', 'class': 'axis', text: 'bytes (each column doubles the size)'}));
    return s;
  }

  function storeFindingsSection() {
    var list = storeFindings;
    if (!list.length) return;
    add(app, [el('h2', null, 'Findings about the store'), list.length > ENTRY_PAGE ? pagedFindings(list) : findingsList(list)]);
  }
  function footer() {
    add(app, el('p', {cls: 'note', id: 'footer'}, 'Written by cyrconv ' + (page.tool_version || '') + ' from ' +
      (page.source || 'the run\'s own report') + ' (' + kind + ' report, schema version ' + String(R.schema_version) + '); ' +
      plural(folderCount, 'folder', 'folders') + ', ' + plural(users.length, 'user', 'users') + '.'));
  }

  header();
  accounting();
  faultSection();
  usersSection();
  storeFindingsSection();
  storeSection();
  footer();
  performance.mark('cyrconv-rendered');
  document.body.setAttribute('data-rendered', 'true');
})();
