// Just enough HTML reading to act like a browser on our own pages: forms, their fields and
// buttons. Regex-based on purpose (no DOM dependency); the pages are server-rendered and simple.

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

export function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, body) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[body.toLowerCase()] ?? whole;
  });
}

function attributes(tag) {
  const attrs = {};
  const re = /([^\s=<>\/"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  const inner = tag.replace(/^<\s*[a-z]+/i, '').replace(/\/?>$/, '');
  for (const m of inner.matchAll(re)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

export function textOf(html) {
  return decodeEntities(html.replace(/<script[\s\S]*?<\/script>/gi, '').replace(/<[^>]+>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

/** Every form on the page: action, method, inputs (incl. hidden), selects, submit buttons. */
export function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)) {
    const open = m[0].match(/^<form\b[^>]*>/i)[0];
    const attrs = attributes(open);
    const body = m[1];
    const inputs = [...body.matchAll(/<input\b[^>]*>/gi)].map((t) => attributes(t[0]));
    const buttons = [...body.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)].map((t) => ({
      ...attributes(`<button ${t[1]}>`),
      text: textOf(t[2]),
    }));
    const selects = [...body.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/gi)].map((t) => ({
      ...attributes(`<select ${t[1]}>`),
      options: [...t[2].matchAll(/<option\b([^>]*)>([\s\S]*?)<\/option>/gi)].map((o) => ({
        ...attributes(`<option ${o[1]}>`),
        text: textOf(o[2]),
      })),
    }));
    forms.push({
      action: attrs.action ?? '',
      method: (attrs.method ?? 'get').toLowerCase(),
      inputs,
      buttons,
      selects,
      html: m[0],
    });
  }
  return forms;
}

/** The submit button whose label or value matches `pattern` (e.g. /approve|allow/i). */
export function findButton(form, pattern) {
  const submitInputs = form.inputs
    .filter((i) => (i.type ?? '').toLowerCase() === 'submit')
    .map((i) => ({ ...i, text: i.value ?? '' }));
  return [...form.buttons, ...submitInputs].find(
    (b) => pattern.test(b.text) || pattern.test(b.value ?? '') || pattern.test(b.name ?? ''),
  );
}

/** Successful controls of a form as a browser would send them, plus the clicked button. */
export function formData(form, overrides = {}, button) {
  const data = new URLSearchParams();
  const set = new Set(Object.keys(overrides));
  for (const input of form.inputs) {
    const type = (input.type ?? 'text').toLowerCase();
    if (!input.name || ['submit', 'button', 'image', 'reset'].includes(type)) continue;
    if ((type === 'checkbox' || type === 'radio') && !('checked' in input)) continue;
    if (set.has(input.name)) continue;
    data.append(input.name, input.value ?? '');
  }
  for (const select of form.selects) {
    if (!select.name || set.has(select.name)) continue;
    const chosen = select.options.find((o) => 'selected' in o) ?? select.options[0];
    if (chosen) data.append(select.name, chosen.value ?? chosen.text);
  }
  for (const [name, value] of Object.entries(overrides)) data.append(name, value);
  if (button?.name) data.append(button.name, button.value ?? '');
  return data;
}
