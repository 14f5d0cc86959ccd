const results = [];
const check = (name, cond, extra) => results.push({ name, ok: !!cond, extra });
const $ = (id) => document.getElementById(id);
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, ms = 8000) { const t = Date.now(); while (Date.now() - t < ms) { if (fn()) return true; await wait(50); } return false; }
const report = (phase) => fetch('/report', { method: 'POST', body: JSON.stringify({ phase, results: results.splice(0) }) });
function pick(files) { const dt = new DataTransfer(); files.forEach((f) => dt.items.add(f)); $('file').files = dt.files; $('file').dispatchEvent(new Event('change', { bubbles: true })); }
function setSel(v) { $('privacy').value = v; $('privacy').dispatchEvent(new Event('change', { bubbles: true })); }
function tick(id, v) { const b = $(id); if (b.checked !== v) b.click(); }
const shown = (id) => !$(id).hidden && $(id).textContent;
const fileOf = async (url, name, type) => new File([await (await fetch(url)).blob()], name, { type });

try {
  const btn = $('post-button');
  check('initial button disabled', btn.disabled);
  check('initial reason', shown('post-button-reason') === 'Choose a video to post.' && btn.title === 'Choose a video to post.', btn.title);
  check('declaration', $('declaration').textContent === "By posting, you agree to TikTok's Music Usage Confirmation.", $('declaration').textContent);
  check('duet stays disabled', $('allow-duet').disabled && !$('allow-duet').checked);
  check('stitch enabled', !$('allow-stitch').disabled);
  check('options hidden', $('disclosure-options').hidden && $('disclosure-label').hidden && $('disclosure-required').hidden);

  pick([await fileOf('/fixtures/long.webm', 'long.webm', 'video/webm')]);
  await until(() => $('file-note').textContent);
  check('long video note', $('file-note').textContent === 'This video is 0:12 long; this account can post videos up to 0:10 (10 seconds).', $('file-note').textContent);
  check('long video blocks', btn.disabled && btn.title === $('file-note').textContent, btn.title);
  check('preview video', $('preview').querySelector('video[controls]')?.muted === true);

  pick([new File([new Uint8Array(5000).fill(7)], 'hevc.mp4', { type: 'video/mp4' })]);
  await until(() => $('file-note').textContent);
  check('unreadable note', $('file-note').textContent === 'This browser cannot read this video; the server will check its duration when you post.', $('file-note').textContent);
  check('unreadable: reason is privacy now', btn.title === 'Choose who can see this post.', btn.title);

  pick([await fileOf('/fixtures/small.webm', 'small.webm', 'video/webm')]);
  await until(() => $('file-note').textContent);
  check('small note', $('file-note').textContent.startsWith('This video is 0:03 long'), $('file-note').textContent);

  setSel('SELF_ONLY');
  check('self only -> button enabled', !btn.disabled && !btn.title && $('post-button-reason').hidden);
  tick('disclose', true);
  check('options shown', !$('disclosure-options').hidden);
  check('branded disabled with reason', $('branded-content').disabled && $('branded-content').title === 'Branded content visibility cannot be set to private.' && shown('branded-note') === 'Branded content visibility cannot be set to private.');
  check('disclosure required', shown('disclosure-required') === 'You need to indicate if your content promotes yourself, a third party, or both.' && btn.disabled && btn.title === 'You need to indicate if your content promotes yourself, a third party, or both.');
  tick('your-brand', true);
  check('promotional', shown('disclosure-label') === "Your photo/video will be labeled as 'Promotional content'" && !btn.disabled);
  setSel('PUBLIC_TO_EVERYONE');
  check('branded enabled again', !$('branded-content').disabled && $('branded-note').hidden && !$('branded-content').title);
  tick('branded-content', true);
  const selfOnly = $('privacy').querySelector('option[value=SELF_ONLY]');
  check('self only disabled', selfOnly.disabled && selfOnly.title === 'Branded content visibility cannot be set to private.' && shown('privacy-note') === 'Branded content visibility cannot be set to private.');
  check('paid', shown('disclosure-label') === "Your photo/video will be labeled as 'Paid partnership'");
  check('declaration branded', $('declaration').textContent === "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation." && [...$('declaration').querySelectorAll('a')].map((a) => a.href).join() === 'https://www.tiktok.com/legal/page/global/bc-policy/en,https://www.tiktok.com/legal/page/global/music-usage-confirmation/en', $('declaration').innerHTML);
  tick('your-brand', false);
  check('branded only still paid', shown('disclosure-label') === "Your photo/video will be labeled as 'Paid partnership'");
  tick('disclose', false);
  check('switch off clears', !$('your-brand').checked && !$('branded-content').checked && !selfOnly.disabled && $('privacy-note').hidden && $('disclosure-label').hidden && $('declaration').textContent === "By posting, you agree to TikTok's Music Usage Confirmation.");
  tick('disclose', true); tick('branded-content', true);
  $('title').value = 'Hello #tag'; $('title').dispatchEvent(new Event('input', { bubbles: true }));
  tick('allow-comment', true);
  await report('before-press');

  btn.click();
  check('busy', btn.disabled);
  await until(() => !$('form-error').hidden, 15000);
  check('form error shown', $('form-error').textContent === 'Title is not allowed.', $('form-error').textContent);
  check('button back', !btn.disabled);
  check('title kept', $('title').value === 'Hello #tag' && document.activeElement === $('title'));
  check('key set', $('post-form').elements.key.value === 'console/uploads/1-small.webm', $('post-form').elements.key.value);
  check('status bar rendered', !!document.querySelector('#upload-progress .uppy-StatusBar'), $('upload-progress').innerHTML.slice(0, 200));
  await report('after-first-post');
  btn.click();
} catch (e) {
  check('exception', false, String(e?.stack || e));
  await report('exception');
}
