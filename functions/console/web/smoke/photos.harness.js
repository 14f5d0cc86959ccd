const results = [];
const check = (name, cond, extra) => results.push({ name, ok: !!cond, extra });
const $ = (id) => document.getElementById(id);
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, ms = 8000) { const t = Date.now(); while (Date.now() - t < ms) { if (fn()) return true; await wait(50); } return false; }
const report = (phase) => fetch('/report', { method: 'POST', body: JSON.stringify({ phase, results: results.splice(0) }) });
async function png(color, name) { const c = new OffscreenCanvas(8, 8); const g = c.getContext('2d'); g.fillStyle = color; g.fillRect(0, 0, 8, 8); return new File([await c.convertToBlob({ type: 'image/png' })], name, { type: 'image/png' }); }
try {
  const btn = $('post-button');
  check('initial reason', btn.title === 'Choose at least one photo to post.', btn.title);
  // A big first file so the second finishes first: the keys must still follow the picked order.
  const big = new File([new Uint8Array(300000).fill(1)], 'b-first.png', { type: 'image/png' });
  const dt = new DataTransfer(); [big, await png('red', 'a-second.png'), await png('blue', 'c-third.png')].forEach((f) => dt.items.add(f));
  $('file').files = dt.files; $('file').dispatchEvent(new Event('change', { bubbles: true }));
  check('3 previews', $('preview').querySelectorAll('img').length === 3 && $('preview').querySelector('img').alt === 'Photo 1 of 3');
  check('note', $('file-note').textContent === '3 of at most 35 photos chosen.', $('file-note').textContent);
  $('privacy').value = 'SELF_ONLY'; $('privacy').dispatchEvent(new Event('change', { bubbles: true }));
  $('description').value = 'desc'; $('description').dispatchEvent(new Event('input', { bubbles: true }));
  check('enabled', !btn.disabled, btn.title);
  await report('before-press');
  btn.click();
} catch (e) { check('exception', false, String(e?.stack || e)); await report('exception'); }
