// Small enhancements only: every page works without this file.
// Ask before removing a tag, so that a stray tap on a phone does not lose it.
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (form.action.endsWith('/tags/remove') && !window.confirm(form.querySelector('button').getAttribute('aria-label') + '?')) {
    event.preventDefault();
  }
});

// A select marked data-autosubmit sends its form when changed (its button stays for no-JS use).
document.addEventListener('change', (event) => {
  const el = event.target;
  if (el.matches && el.matches('select[data-autosubmit]') && el.value !== '') {
    el.form.requestSubmit();
  }
});

// The coupon form: show only the fields of the chosen discount and code kind, and find products
// by name with the segment builder's picker (GET /segments/pick/products?q=) to add their ids.
document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('coupon-form');
  if (!form) return;
  const sync = () => {
    const type = form.querySelector('input[name=discount_type]:checked')?.value || 'percent';
    const kind = form.querySelector('input[name=code_kind]:checked')?.value || 'unique';
    form.querySelectorAll('[data-for]').forEach((el) => {
      const wanted = el.dataset.for;
      el.hidden = (wanted === 'percent' || wanted === 'fixed') ? wanted !== type : wanted !== kind;
    });
  };
  form.addEventListener('change', sync);
  sync();
  const picker = document.getElementById('product-picker');
  const search = document.getElementById('product-pick');
  const list = document.getElementById('product-picks');
  const ids = document.getElementById('products');
  if (!picker || !search || !list || !ids) return;
  picker.hidden = false;
  let timer;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = search.value.trim();
      list.replaceChildren();
      if (!q) return;
      const res = await fetch('/segments/pick/products?q=' + encodeURIComponent(q));
      if (!res.ok) return;
      for (const p of await res.json()) {
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'secondary small-button';
        b.textContent = p.name + ' (' + p.id + ')';
        b.addEventListener('click', () => {
          const have = ids.value.split(',').map((s) => s.trim()).filter(Boolean);
          if (!have.includes(p.id)) have.push(p.id);
          ids.value = have.join(', ');
          li.remove();
        });
        li.append(b);
        list.append(li);
      }
    }, 200);
  });
});

// The campaign form: show only the fields of the chosen schedule (once, daily, trigger).
document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('campaign-form');
  if (!form) return;
  const sync = () => {
    const kind = form.querySelector('input[name=when_kind]:checked')?.value || 'once';
    form.querySelectorAll('[data-when]').forEach((el) => {
      el.hidden = el.dataset.when !== kind;
    });
  };
  form.addEventListener('change', sync);
  sync();
});

// The on-site message form: the preview is the form posted into its iframe (the real storefront
// script draws the message there), again shortly after each change; the device picks the
// frame's width; the part of "what it shows" the chosen kind needs is marked.
document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('message-form');
  const button = document.getElementById('preview-button');
  if (!form || !button) return;
  const frame = document.getElementById('preview-frame');
  const refresh = () => form.requestSubmit(button);
  const sync = () => {
    const kind = form.querySelector('input[name=kind]:checked')?.value;
    form.querySelectorAll('[data-kind]').forEach((el) => el.classList.toggle('wanted', el.dataset.kind === kind));
    frame.classList.toggle('mobile', form.querySelector('#preview_device').value === 'mobile');
  };
  let timer;
  const later = () => { clearTimeout(timer); timer = setTimeout(refresh, 600); };
  form.addEventListener('input', later);
  form.addEventListener('change', () => { sync(); later(); });
  sync();
  refresh();
});

// Reports ▸ Live: the live part of the page is fetched again every five seconds and swapped in
// (without JavaScript the page reloads itself). A range preset other than "custom" needs no
// dates, so the date fields show only for "custom".
document.addEventListener('DOMContentLoaded', () => {
  const live = document.querySelector('[data-live]');
  if (live) {
    setInterval(async () => {
      if (document.hidden) return;
      const res = await fetch(location.pathname, {credentials: 'same-origin'});
      if (!res.ok) return;
      const fresh = new DOMParser().parseFromString(await res.text(), 'text/html').getElementById('live');
      if (fresh) live.replaceChildren(...fresh.childNodes);
    }, 5000);
  }
  const range = document.querySelector('select[data-range]');
  if (range) {
    const form = range.form;
    const sync = () => form.querySelectorAll('[data-custom]').forEach((el) => { el.hidden = range.value !== 'custom'; });
    range.addEventListener('change', () => { sync(); if (range.value !== 'custom') form.requestSubmit(); });
    form.querySelectorAll('[data-custom] input').forEach((el) => el.addEventListener('change', () => { range.value = 'custom'; }));
    // The address stays short: fields left empty, and the dates of a preset, are not sent.
    form.addEventListener('submit', () => {
      form.querySelectorAll('input, select').forEach((el) => {
        if (el.value === '' || (range.value !== 'custom' && el.closest('[data-custom]'))) el.disabled = true;
      });
      setTimeout(() => form.querySelectorAll(':disabled').forEach((el) => { el.disabled = false; }), 0);
    });
    sync();
  }
});

// On a phone a table becomes a stack of cards, each cell labelled by its column's header (the
// labels are copied here; without JavaScript the table scrolls inside itself). A table that is a
// grid to read across (cohorts, with data-keep-table) stays a table.
document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('table.list').forEach((table) => {
    if (table.hasAttribute('data-keep-table') || table.closest('[data-keep-table]')) return;
    const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
    table.classList.add('stack');
    table.querySelectorAll('tbody tr').forEach((tr) => {
      [...tr.children].forEach((cell, i) => {
        if (heads[i] && cell.colSpan === 1) cell.setAttribute('data-label', heads[i]);
      });
    });
  });
});
