// The campaign form's trigger conditions: draws the property tests kept in the form's `where`
// field (a JSON list of {property, op, value}, CONTRACT §6) as rows of pickers, and writes every
// change back into that field. Without this file the field is a plain textarea.
(() => {
  'use strict';
  const field = document.getElementById('where');
  const mount = document.getElementById('tests');
  const configEl = document.getElementById('tests-config');
  if (!field || !mount || !configEl) return;
  const cfg = JSON.parse(configEl.textContent);
  const L = (k) => cfg.labels[k] ?? k;
  const KNOWN = new Set(cfg.properties.map(([p]) => p));
  const NUMERIC = new Set(['>', '>=', '<', '<=']);

  let tests;
  try {
    const v = field.value.trim() === '' ? [] : JSON.parse(field.value);
    if (!Array.isArray(v)) throw new Error('not a list');
    tests = v.map((t) => ({ property: String(t.property ?? ''), op: String(t.op ?? '='), value: t.value }));
  } catch {
    // Not JSON: the field stays as typed (the server names what is wrong).
    return;
  }

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'value') e.value = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c != null) e.append(c);
    return e;
  }

  // A typed value as the test compares it: a number where one is meant, a list for `in`.
  function valueOf(op, text) {
    const t = text.trim();
    const number = (s) => (s !== '' && !Number.isNaN(Number(s.replace(/,/g, ''))) ? Number(s.replace(/,/g, '')) : s);
    if (op === 'in') return t === '' ? [] : t.split(',').map((s) => number(s.trim()));
    if (op === 'contains' || op === 'starts_with') return t;
    return number(t);
  }
  const textOf = (v) => (Array.isArray(v) ? v.join(', ') : v == null ? '' : String(v));

  function write() {
    const done = tests.filter((t) => t.property.trim() !== '');
    field.value = done.length === 0 ? '' : JSON.stringify(done, null, 2);
  }

  function row(t, i) {
    const other = t.property !== '' && !KNOWN.has(t.property);
    const name = el('input', {
      class: 'text-input', value: other ? t.property : '', 'aria-label': L('property'), placeholder: L('property_name'),
      hidden: !other,
      oninput: (e) => { t.property = e.target.value.trim(); write(); },
    });
    const property = el('select', {
      class: 'property', 'aria-label': L('property'),
      onchange: (e) => {
        if (e.target.value === '') { name.hidden = false; name.focus(); t.property = name.value.trim(); }
        else { name.hidden = true; t.property = e.target.value; }
        write();
      },
    },
    cfg.properties.map(([p, label]) => el('option', { value: p, text: label, selected: p === t.property })),
    el('option', { value: '', text: L('other'), selected: other }));
    const op = el('select', {
      class: 'op', 'aria-label': L('op'),
      onchange: (e) => { t.op = e.target.value; t.value = valueOf(t.op, textOf(t.value)); write(); },
    }, cfg.ops.map(([o, label]) => el('option', { value: o, text: label, selected: o === t.op })));
    const value = el('input', {
      class: 'text-input', value: textOf(t.value), 'aria-label': L('value'),
      inputmode: NUMERIC.has(t.op) ? 'decimal' : null, placeholder: t.op === 'in' ? L('in_example') : null,
      oninput: (e) => { t.value = valueOf(t.op, e.target.value); write(); },
    });
    const remove = el('button', {
      type: 'button', class: 'link remove', text: L('remove'),
      onclick: () => { tests.splice(i, 1); write(); draw(); },
    });
    return el('div', { class: 'test-row' }, property, name, op, value, remove);
  }

  function draw() {
    mount.replaceChildren(
      tests.length === 0 ? el('p', { class: 'muted small', text: L('none') }) : null,
      ...tests.map(row),
      el('button', {
        type: 'button', class: 'secondary', text: L('add'),
        onclick: () => {
          tests.push({ property: cfg.properties[0][0], op: '>=', value: 0 });
          write();
          draw();
          mount.querySelector('.test-row:last-of-type select')?.focus();
        },
      }),
    );
  }

  // Enter in a row's box does not save the form half-made.
  mount.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target.tagName === 'INPUT') e.preventDefault();
  });

  // The JSON stays as the power users' view: editing it redraws the rows.
  field.addEventListener('change', () => {
    try {
      const v = field.value.trim() === '' ? [] : JSON.parse(field.value);
      if (Array.isArray(v)) { tests = v; draw(); }
    } catch { /* the server names what is wrong on save */ }
  });
  document.getElementById('where-json').open = false;
  draw();
})();

// The live preview: the message one customer would get from the form as it stands, asked of the
// server (POST /campaigns/preview, nothing saved) a moment after each change.
(() => {
  'use strict';
  const box = document.getElementById('live-preview');
  const customer = document.getElementById('live-customer');
  const form = customer && customer.form;
  if (!box || !form) return;
  const $ = (id) => document.getElementById(id);
  const status = $('live-status');
  const about = status.textContent;
  let timer, seq = 0;

  async function refresh() {
    const mine = ++seq;
    if (customer.value.trim() === '') {
      status.textContent = about;
      $('live-meta').hidden = $('live-text').hidden = $('live-html').hidden = true;
      return;
    }
    status.textContent = box.dataset.updating;
    let res, body;
    try {
      res = await fetch('/campaigns/preview', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(new FormData(form)),
      });
      if (res.redirected || !(res.headers.get('content-type') || '').includes('json')) throw new Error(box.dataset.sessionEnded);
      body = await res.json();
    } catch (e) {
      if (mine === seq) status.textContent = e.message;
      return;
    }
    if (mine !== seq) return;
    if (!res.ok) {
      const e = body.error || {};
      status.textContent = e.field ? `${e.field}: ${e.message}` : e.message;
      return;
    }
    status.textContent = '';
    $('live-who').textContent = `#${body.customer_id} ${body.who}`;
    $('live-to').textContent = body.to;
    $('live-verdict').textContent = body.verdict_text;
    $('live-verdict').className = `badge verdict-${body.verdict}`;
    $('live-subject').textContent = body.subject ?? '—';
    $('live-meta').hidden = false;
    $('live-text').textContent = body.text;
    $('live-text').hidden = false;
    $('live-html').hidden = !body.html;
    if (body.html) $('live-html').srcdoc = body.html;
  }

  const later = () => { clearTimeout(timer); timer = setTimeout(refresh, 500); };
  // Enter in the customer's box shows the preview now instead of saving the form half-made.
  customer.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); clearTimeout(timer); refresh(); }
  });
  form.addEventListener('input', later);
  form.addEventListener('change', later);
  box.hidden = false;
})();
