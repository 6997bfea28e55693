// The segment builder: draws the rule kept in the form's `rule` field (CONTRACT §4 JSON) as nested
// groups and conditions, writes every change back into that field, and asks the server for the
// live count (POST /segments/preview, debounced). Without this file the field is a plain textarea.
// The segment form and the campaign form's audience both hold it; a field marked
// `data-optional` (a campaign's extra condition) is left empty while the builder is.
(() => {
  'use strict';
  const field = document.getElementById('rule');
  const form = field && field.form;
  const mount = document.getElementById('builder');
  const configEl = document.getElementById('segment-config');
  if (!form || !field || !mount || !configEl) return;
  const optional = 'optional' in field.dataset;
  const cfg = JSON.parse(configEl.textContent);
  const L = (k) => cfg.labels[k] ?? k;
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  const csrf = form.querySelector('input[name=csrf]').value;

  // Every attribute of the rule language (src/segment/rule.rs), by kind of input.
  const ATTRS = {
    signed_up_at: { group: 'profile', kind: 'recency' },
    last_seen_at: { group: 'profile', kind: 'recency' },
    city: { group: 'profile', kind: 'place' },
    country: { group: 'profile', kind: 'place' },
    tags: { group: 'profile', kind: 'tags' },
    email_consent: { group: 'profile', kind: 'bool' },
    sms_consent: { group: 'profile', kind: 'bool' },
    kakao_consent: { group: 'profile', kind: 'bool' },
    trait: { group: 'profile', kind: 'trait' },
    customer_id: { group: 'profile', kind: 'ids' },
    orders_count: { group: 'orders', kind: 'number', days: true },
    total_spent: { group: 'orders', kind: 'number', days: true, step: 1000 },
    last_order_at: { group: 'orders', kind: 'recency' },
    viewed: { group: 'behaviour', kind: 'touch' },
    carted: { group: 'behaviour', kind: 'touch' },
    checkout: { group: 'behaviour', kind: 'touch' },
    purchased: { group: 'behaviour', kind: 'touch' },
    interest: { group: 'behaviour', kind: 'interest' },
    event: { group: 'behaviour', kind: 'event' },
    rfm_segment: { group: 'analysis', kind: 'enum', values: cfg.groups, ago: true },
    spend_tier: { group: 'analysis', kind: 'enum', values: cfg.levels, ago: true },
    churn_risk: { group: 'analysis', kind: 'enum', values: cfg.levels, ago: true },
    predicted_clv: { group: 'analysis', kind: 'number', ago: true, step: 1000 },
    probability_alive: { group: 'analysis', kind: 'number', ago: true, step: 0.01 },
    available_coupons: { group: 'coupons', kind: 'number' },
    coupon_codes: { group: 'coupons', kind: 'coupon' },
  };
  const GROUPS = ['profile', 'orders', 'behaviour', 'analysis', 'coupons'];
  const OPS = {
    recency: ['within_days', 'not_within_days'],
    number: ['>=', '<=', '=', 'between'],
    event: ['>=', '<=', '=', 'between'],
    place: ['=', 'in'],
    tags: ['has', 'has_any'],
    enum: ['=', 'in'],
    trait: ['=', '!=', 'contains', '>=', '<=', 'exists'],
    touch: ['category', 'product'],
    bool: ['='],
    interest: ['matches'],
    coupon: ['contains'],
    ids: ['in'],
  };
  const OP_LABEL = {
    within_days: 'op.within_days', not_within_days: 'op.not_within_days', '=': 'op.eq', '!=': 'op.ne',
    '>=': 'op.ge', '<=': 'op.le', between: 'op.between', in: 'op.in', has: 'op.has', has_any: 'op.has_any',
    contains: 'op.contains', exists: 'op.exists', product: 'op.product', category: 'op.category', matches: 'op.matches',
  };
  // The shop's events, each with the name a person reads: [name, label].
  const EVENTS = cfg.events;

  const attrKey = (c) => (typeof c.attr === 'string' && c.attr.startsWith('trait.') ? 'trait' : c.attr);
  const spec = (c) => ATTRS[attrKey(c)];

  function defaultCondition(attr) {
    const s = ATTRS[attr];
    switch (s.kind) {
      case 'recency': return { attr, op: 'within_days', value: 30 };
      case 'number': return { attr, op: '>=', value: attr === 'probability_alive' ? 0.5 : 1 };
      case 'place': return { attr, op: '=', value: '' };
      case 'tags': return { attr, op: 'has', value: cfg.tags[0] || '' };
      case 'bool': return { attr, op: '=', value: true };
      case 'trait': return { attr: 'trait.', op: '=', value: '' };
      case 'touch': return { attr, op: 'category', value: '' };
      case 'interest': return { attr, op: 'matches', value: '' };
      case 'event': return { attr, name: 'Order Completed', op: '>=', value: 1 };
      case 'enum': return { attr, op: '=', value: s.values[0][0] };
      case 'ids': return { attr, op: 'in', value: [] };
      default: return { attr, op: 'contains', value: '' };
    }
  }

  // The value a condition keeps when its operator changes.
  function changeOp(c, op) {
    const old = c.op, v = c.value;
    c.op = op;
    const first = Array.isArray(v) ? v[0] : v;
    if (op === 'between') c.value = [typeof first === 'number' ? first : 1, typeof first === 'number' ? first : 1];
    else if (op === 'in' || op === 'has_any') c.value = Array.isArray(v) ? v : (v === '' || v == null ? [] : [v]);
    else if (op === 'exists') delete c.value;
    else if (old === 'exists') c.value = '';
    else if (old === 'product' || old === 'category') c.value = '';
    else c.value = first ?? '';
    if ((op === '>=' || op === '<=') && attrKey(c) === 'trait' && typeof c.value !== 'number') c.value = Number(c.value) || 0;
  }

  // --- the model: groups and conditions, each maybe negated -------------------------------
  let nextId = 1;
  function fromJSON(v) {
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1) {
      if ('not' in v) { const n = fromJSON(v.not); n.not = !n.not; return n; }
      for (const mode of ['all', 'any']) {
        if (Array.isArray(v[mode])) return { id: nextId++, type: 'group', mode, not: false, items: v[mode].map(fromJSON) };
      }
    }
    return { id: nextId++, type: 'cond', not: false, c: v };
  }
  function rootOf(v) {
    const n = fromJSON(v);
    return n.type === 'group' ? n : { id: nextId++, type: 'group', mode: 'all', not: false, items: [n] };
  }
  // The JSON of a node; records each node's JSON path (as the server names errors) on the way.
  function toJSON(n, path) {
    const inner = n.not ? `${path}.not` : path;
    n.path = inner;
    const v = n.type === 'group' ? { [n.mode]: n.items.map((it, i) => toJSON(it, `${inner}.${n.mode}[${i}]`)) } : n.c;
    return n.not ? { not: v } : v;
  }

  let root, parsed = true;
  if (optional && field.value.trim() === '') root = rootOf({ all: [] });
  else try { root = rootOf(JSON.parse(field.value)); } catch { root = rootOf({ all: [] }); parsed = false; }

  // --- small DOM helpers -------------------------------------------------------------------
  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c != null) e.append(c);
    return e;
  }
  function select(options, value, label, onchange, cls) {
    const s = el('select', { 'aria-label': label, class: cls, onchange: () => onchange(s.value) });
    for (const [v, text] of options) s.append(el('option', { value: v, text, selected: String(v) === String(value) }));
    return s;
  }
  function number(value, label, oninput, opts = {}) {
    const i = el('input', {
      type: 'number', inputmode: 'decimal', 'aria-label': label, value: value ?? '', min: opts.min, step: opts.step || 'any',
      placeholder: opts.placeholder, class: opts.cls || 'num-input',
    });
    const read = () => oninput(i.value === '' ? null : Number(i.value));
    i.addEventListener('input', read);
    i.addEventListener('change', read);
    return i;
  }
  function text(value, label, oninput, opts = {}) {
    const i = el('input', { type: 'text', 'aria-label': label, value: value ?? '', placeholder: opts.placeholder, list: opts.list, class: opts.cls || 'text-input', autocomplete: 'off' });
    i.addEventListener('input', () => oninput(i.value));
    i.addEventListener('change', () => oninput(i.value));
    return i;
  }
  const span = (t, cls = 'word') => el('span', { class: cls, text: t });
  let uid = 0;

  // A list of strings as removable chips, with an input to add more (Enter or the Add button).
  function chips(values, label, onchange, list) {
    const box = el('span', { class: 'chips', role: 'group', 'aria-label': label });
    const draw = () => {
      box.replaceChildren();
      values.forEach((v, i) => box.append(el('span', { class: 'chip' }, v, el('button', {
        type: 'button', class: 'chip-x', 'aria-label': `${L('remove_value')} ${v}`, text: '×',
        onclick: () => { values.splice(i, 1); onchange(values); draw(); input.focus(); },
      }))));
      box.append(input, add);
    };
    const input = el('input', { type: 'text', 'aria-label': label, list, class: 'text-input', placeholder: L('add_value_hint'), autocomplete: 'off' });
    const commit = () => {
      const v = input.value.trim();
      if (v && !values.includes(v)) { values.push(v); onchange(values); }
      input.value = '';
      draw();
      input.focus();
    };
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ',') { e.preventDefault(); commit(); } });
    const add = el('button', { type: 'button', class: 'secondary small-button', text: L('add_value'), onclick: commit });
    draw();
    return box;
  }

  // A search-as-you-type picker over the catalogue (products or categories) using a datalist.
  const productNames = Object.assign({}, cfg.products);
  function picker(kind, value, label, oninput) {
    const id = `pick-${++uid}`;
    const list = el('datalist', { id });
    const input = text(value, label, () => {}, { list: id, placeholder: L(kind === 'product' ? 'pick_product' : 'pick_category'), cls: 'text-input wide' });
    const name = el('span', { class: 'muted small pick-name' });
    const showName = () => { name.textContent = kind === 'product' && productNames[input.value] ? productNames[input.value] : ''; };
    let timer;
    input.addEventListener('input', () => {
      oninput(input.value.trim());
      showName();
      clearTimeout(timer);
      timer = setTimeout(async () => {
        try {
          const res = await fetch(`/segments/pick/${kind === 'product' ? 'products' : 'categories'}?q=${encodeURIComponent(input.value.trim())}`, { credentials: 'same-origin' });
          if (!res.ok || !(res.headers.get('content-type') || '').includes('json')) return;
          const items = await res.json();
          list.replaceChildren(...items.map((it) => {
            if (kind === 'product') {
              productNames[it.id] = it.name;
              return el('option', { value: it.id, label: it.category ? `${it.name} · ${it.category}` : it.name });
            }
            return el('option', { value: it });
          }));
          showName();
        } catch { /* the picker only helps; typing the value works too */ }
      }, 200);
    });
    showName();
    return [input, list, name];
  }

  // "in the last [N] days" (blank: any time) and "as of [N] days ago" (blank: today).
  function windowField(c, key, before, after, placeholder) {
    return el('span', { class: 'window' }, span(L(before)), number(c[key], L(before), (v) => {
      if (v == null || v === 0) delete c[key]; else c[key] = Math.trunc(v);
      changed();
    }, { min: key === 'days' ? 1 : 0, step: 1, placeholder: L(placeholder), cls: 'num-input short' }), span(L(after)));
  }

  function numberValue(c, s, label) {
    const opts = { step: s.step };
    if (c.op === 'between') {
      const v = Array.isArray(c.value) ? c.value : [c.value, c.value];
      c.value = v;
      return [number(v[0], `${label} ${L('from')}`, (x) => { c.value[0] = x; changed(); }, opts), span(L('and')),
        number(v[1], `${label} ${L('to')}`, (x) => { c.value[1] = x; changed(); }, opts)];
    }
    return [number(c.value, label, (x) => { c.value = x; changed(); }, opts)];
  }

  function opSelect(c, kind, label) {
    return select(OPS[kind].map((o) => [o, L(OP_LABEL[o])]), c.op, `${label}: ${L('operator')}`, (op) => { changeOp(c, op); structure(); }, 'op');
  }

  // The inputs of a condition after its attribute.
  function conditionFields(c) {
    const s = spec(c);
    const label = cap(L(`attr.${attrKey(c)}`));
    const out = [];
    switch (s.kind) {
      case 'recency': {
        // "in the last [30] days" in English, "[30]일 [이내]" in Korean: the catalogue gives the order.
        const parts = {
          op: opSelect(c, 'recency', label),
          value: number(c.value, `${label}: ${L('days')}`, (v) => { c.value = v == null ? null : Math.trunc(v); changed(); }, { min: 1, step: 1, cls: 'num-input short' }),
          unit: span(L('days')),
        };
        out.push(...L('recency_order').split(',').map((k) => parts[k.trim()]).filter(Boolean));
        break;
      }
      case 'number':
        out.push(opSelect(c, 'number', label), ...numberValue(c, s, label));
        if (s.days) out.push(windowField(c, 'days', 'window_before', 'window_after', 'any_time'));
        if (s.ago) out.push(windowField(c, 'days_ago', 'ago_before', 'ago_after', 'today'));
        break;
      case 'place':
        out.push(opSelect(c, 'place', label));
        out.push(c.op === 'in'
          ? chips(Array.isArray(c.value) ? c.value : [], label, (v) => { c.value = v; changed(); })
          : text(c.value, label, (v) => { c.value = v; changed(); }, { placeholder: L(`${attrKey(c)}_hint`) }));
        break;
      case 'tags':
        out.push(opSelect(c, 'tags', label));
        out.push(c.op === 'has_any'
          ? chips(Array.isArray(c.value) ? c.value : [], label, (v) => { c.value = v; changed(); }, 'known-tags')
          : text(c.value, label, (v) => { c.value = v; changed(); }, { list: 'known-tags', placeholder: L('tag_hint') }));
        break;
      case 'bool':
        out.push(select([['true', L('yes')], ['false', L('no')]], String(c.value), label, (v) => { c.value = v === 'true'; changed(); }));
        break;
      case 'ids':
        // Customers by number (a message to one person from their page is this rule).
        out.push(opSelect(c, 'ids', label));
        out.push(chips(Array.isArray(c.value) ? c.value.map(String) : [], label, (v) => {
          c.value = v.map((x) => Number(x)).filter((x) => Number.isInteger(x) && x > 0);
          changed();
        }));
        break;
      case 'enum':
        out.push(opSelect(c, 'enum', label));
        if (c.op === 'in') {
          const chosen = new Set(Array.isArray(c.value) ? c.value : [c.value]);
          c.value = s.values.map(([v]) => v).filter((v) => chosen.has(v));
          out.push(el('span', { class: 'checks', role: 'group', 'aria-label': label }, s.values.map(([v, t]) => {
            const box = el('input', { type: 'checkbox', value: v, checked: chosen.has(v) });
            box.addEventListener('change', () => {
              if (box.checked) chosen.add(v); else chosen.delete(v);
              c.value = s.values.map(([x]) => x).filter((x) => chosen.has(x));
              changed();
            });
            return el('label', { class: 'check' }, box, ` ${t}`);
          })));
        } else {
          out.push(select(s.values, c.value, label, (v) => { c.value = v; changed(); }));
        }
        out.push(windowField(c, 'days_ago', 'ago_before', 'ago_after', 'today'));
        break;
      case 'touch': {
        out.push(opSelect(c, 'touch', label));
        out.push(...picker(c.op, c.value, `${label}: ${L(OP_LABEL[c.op])}`, (v) => { c.value = v; changed(); }));
        out.push(el('span', { class: 'window' }, span(L('at_least')), number(c.min_count, `${label}: ${L('times')}`, (v) => {
          if (v == null || v <= 1) delete c.min_count; else c.min_count = Math.trunc(v);
          changed();
        }, { min: 1, step: 1, placeholder: '1', cls: 'num-input short' }), span(L('times'))));
        out.push(windowField(c, 'days', 'window_before', 'window_after', 'any_time'));
        break;
      }
      case 'interest':
        out.push(text(c.value, label, (v) => { c.value = v; changed(); }, { placeholder: L('interest_hint'), cls: 'text-input wide' }));
        out.push(windowField(c, 'days', 'window_before', 'window_after', 'any_time'));
        break;
      case 'event':
        out.push(text(c.name, `${label}: ${L('event_name')}`, (v) => { c.name = v; changed(); }, { list: 'known-events', placeholder: L('event_name'), cls: 'text-input wide' }));
        out.push(span(L('count')), opSelect(c, 'event', label), ...numberValue(c, s, label));
        out.push(windowField(c, 'days', 'window_before', 'window_after', 'any_time'));
        break;
      case 'trait':
        out.push(text(c.attr.slice('trait.'.length), `${label}: ${L('trait_name')}`, (v) => { c.attr = `trait.${v.trim()}`; changed(); }, { placeholder: L('trait_name'), cls: 'text-input short-text' }));
        out.push(opSelect(c, 'trait', label));
        if (c.op === '>=' || c.op === '<=') out.push(number(c.value, label, (v) => { c.value = v; changed(); }));
        else if (c.op !== 'exists') out.push(text(c.value, label, (v) => { c.value = v; changed(); }, { placeholder: L('value') }));
        break;
      case 'coupon':
        out.push(span(L(OP_LABEL[c.op])), text(c.value, label, (v) => { c.value = v; changed(); }, { placeholder: L('coupon_hint') }));
        break;
      default:
        break;
    }
    return out;
  }

  function attrSelect(c) {
    const s = el('select', { class: 'attr', 'aria-label': L('attribute') });
    for (const g of GROUPS) {
      const og = el('optgroup', { label: L(`group_${g}`) });
      for (const [name, a] of Object.entries(ATTRS)) {
        if (a.group === g) og.append(el('option', { value: name, text: cap(L(`attr.${name}`)), selected: name === attrKey(c) }));
      }
      s.append(og);
    }
    return s;
  }

  function negateBox(n) {
    const box = el('input', { type: 'checkbox', checked: n.not, class: 'not-box' });
    box.addEventListener('change', () => { n.not = box.checked; structure(n.id, '.not-box'); });
    return el('label', { class: 'not-toggle', title: L('negate_about') }, box, ` ${L('negate')}`);
  }

  function removeButton(parent, n, what) {
    return el('button', {
      type: 'button', class: 'remove', 'aria-label': L(what), title: L(what), text: '×',
      onclick: () => { parent.items.splice(parent.items.indexOf(n), 1); structure(parent.id, '.add-cond'); },
    });
  }

  function drawCondition(n, parent) {
    const row = el('div', { class: 'cond', 'data-node': n.id });
    const c = n.c;
    if (!c || typeof c !== 'object' || !spec(c)) {
      // A condition this page does not know how to draw: edit its JSON in place.
      const raw = el('input', { type: 'text', class: 'text-input wide', 'aria-label': L('raw_condition'), value: JSON.stringify(c) });
      raw.addEventListener('input', () => { try { n.c = JSON.parse(raw.value); changed(); } catch { /* wait for valid JSON */ } });
      row.append(negateBox(n), raw, removeButton(parent, n, 'remove_condition'));
    } else {
      const a = attrSelect(c);
      a.addEventListener('change', () => { n.c = defaultCondition(a.value); structure(n.id, '.attr'); });
      row.append(negateBox(n), a, ...conditionFields(c), removeButton(parent, n, 'remove_condition'));
    }
    row.append(el('p', { class: 'node-error', role: 'alert', hidden: true }));
    return row;
  }

  function drawGroup(n, parent) {
    const box = el('div', { class: `group${parent ? '' : ' root'}`, 'data-node': n.id, role: 'group' });
    const mode = select([['all', L('group_all')], ['any', L('group_any')]], n.mode, L('match'), (m) => { n.mode = m; structure(n.id, '.mode'); }, 'mode');
    const head = el('div', { class: 'group-head' }, negateBox(n), mode);
    if (parent) head.append(removeButton(parent, n, 'remove_group'));
    box.append(head);
    const list = el('ol', { class: 'group-items' });
    for (const it of n.items) list.append(el('li', {}, it.type === 'group' ? drawGroup(it, n) : drawCondition(it, n)));
    if (n.items.length === 0) list.append(el('li', { class: 'muted empty' }, L(parent ? 'empty_group' : 'add_first')));
    box.append(list, el('p', { class: 'node-error', role: 'alert', hidden: true }));
    box.append(el('div', { class: 'group-actions' },
      el('button', {
        type: 'button', class: 'secondary add-cond', text: `+ ${L('add_condition')}`,
        onclick: () => { const c = { id: nextId++, type: 'cond', not: false, c: defaultCondition('signed_up_at') }; n.items.push(c); structure(c.id, '.attr'); },
      }),
      el('button', {
        type: 'button', class: 'secondary add-group', text: `+ ${L('add_group')}`,
        onclick: () => {
          const c = { id: nextId++, type: 'cond', not: false, c: defaultCondition('orders_count') };
          const g = { id: nextId++, type: 'group', mode: 'any', not: false, items: [c] };
          n.items.push(g);
          structure(c.id, '.attr');
        },
      })));
    return box;
  }

  // --- keeping the field, the drawing and the count in step ---------------------------------
  function write() {
    const json = toJSON(root, '$');
    field.value = optional && root.items.length === 0 ? '' : JSON.stringify(json, null, 2);
    return json;
  }

  // Redraws after a change of shape, then puts the focus on `focusSel` inside node `focusId`.
  function structure(focusId, focusSel) {
    write();
    mount.replaceChildren(drawGroup(root, null));
    if (focusId) mount.querySelector(`[data-node="${focusId}"] ${focusSel}`)?.focus();
    schedule();
  }

  // A value changed: no redraw (the focus stays where the typing is).
  function changed() {
    write();
    schedule();
  }

  const countEl = document.getElementById('count');
  const statusEl = document.getElementById('preview-status');
  const sampleEl = document.getElementById('sample');
  const sampleTitle = document.getElementById('sample-title');
  const ruleError = document.getElementById('rule-error');
  let timer, seq = 0;

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(preview, 300);
  }

  function clearErrors() {
    ruleError.hidden = true;
    for (const p of mount.querySelectorAll('.node-error')) { p.hidden = true; p.textContent = ''; }
    for (const e of mount.querySelectorAll('.has-error')) e.classList.remove('has-error');
  }

  // The node an error path points into: the deepest whose path is a prefix of it.
  function nodeAt(path) {
    let best = null;
    const walk = (n) => {
      if (path === n.path || path.startsWith(`${n.path}.`) || path.startsWith(`${n.path}[`)) {
        if (!best || n.path.length > best.path.length) best = n;
      }
      if (n.type === 'group') n.items.forEach(walk);
    };
    walk(root);
    return best;
  }

  function showError(error) {
    const n = error.path ? nodeAt(error.path) : null;
    const box = n && mount.querySelector(`[data-node="${n.id}"]`);
    const p = box && box.querySelector(':scope > .node-error');
    const message = error.expected ? `${L('expected')} ${error.expected} (${error.field})` : error.message;
    if (p) {
      box.classList.add('has-error');
      p.textContent = message;
      p.hidden = false;
    } else {
      ruleError.textContent = error.message;
      ruleError.hidden = false;
    }
  }

  function showSample(sample) {
    sampleEl.replaceChildren(...sample.map((m) => el('li', {},
      el('a', { href: `/customers/${m.id}`, text: m.name || `#${m.id}` }),
      m.email ? el('span', { class: 'muted small', text: ` ${m.email}` }) : null,
      m.last_seen ? el('div', { class: 'muted small', text: `${L('last_seen')} ${m.last_seen}` }) : null)));
    sampleTitle.hidden = sample.length === 0;
  }

  async function preview() {
    const mine = ++seq;
    const json = write();
    clearErrors();
    if (root.items.length === 0) {
      countEl.textContent = '—';
      statusEl.textContent = L('add_first');
      showSample([]);
      return;
    }
    statusEl.textContent = L('updating');
    countEl.classList.add('stale');
    let res, body;
    try {
      res = await fetch('/segments/preview', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ rule: json }),
      });
      if (res.redirected || !(res.headers.get('content-type') || '').includes('json')) throw new Error(L('session_ended'));
      body = await res.json();
    } catch (e) {
      if (mine !== seq) return;
      statusEl.textContent = e.message || L('preview_failed');
      return;
    }
    if (mine !== seq) return;
    countEl.classList.remove('stale');
    if (res.ok) {
      countEl.textContent = body.count_text;
      countEl.dataset.count = body.count;
      statusEl.textContent = '';
      showSample(body.sample);
    } else {
      countEl.textContent = '—';
      delete countEl.dataset.count;
      statusEl.textContent = res.status === 422 ? L('fix_rule') : body.error.message;
      if (res.status === 422) showError(body.error);
      showSample([]);
    }
  }

  // Enter in the builder's inputs counts now instead of submitting the form half-made.
  mount.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target.tagName === 'INPUT' && e.target.type !== 'checkbox') {
      e.preventDefault();
      clearTimeout(timer);
      preview();
    }
  });

  // The JSON field stays as the power users' view: editing it redraws the builder.
  field.addEventListener('change', () => {
    try {
      root = rootOf(optional && field.value.trim() === '' ? { all: [] } : JSON.parse(field.value));
      structure();
    } catch (e) {
      ruleError.textContent = `${L('not_json')} ${e.message}`;
      ruleError.hidden = false;
    }
  });

  // Known tags and event names for the text inputs.
  document.body.append(
    el('datalist', { id: 'known-tags' }, cfg.tags.map((t) => el('option', { value: t }))),
    el('datalist', { id: 'known-events' }, EVENTS.map(([name, label]) => el('option', { value: name, label: label === name ? null : label }))),
  );
  document.getElementById('preview-hint').hidden = true;
  document.querySelector('#preview .preview-count').hidden = false;
  if (parsed) {
    document.getElementById('rule-json').open = false;
    structure();
  } else {
    // The field holds what was typed (not JSON): keep it as it is until it is fixed.
    mount.replaceChildren(drawGroup(root, null));
  }
})();
