// The "Post to TikTok" page: keeps the form's controls in the state rules.js
// computes (post now, schedule, or a draft to the creator's inbox; a video or
// photos), shows a preview, and on the button uploads the file(s) to S3 with
// Uppy (upload.js) and then sends the form.
//
// Config comes only from data- attributes on #post-form: the page's CSP
// forbids inline scripts. Nothing here runs when the page has no form (the
// creator cannot post right now, guideline 1b).

import { evaluate, durationVerdict, unreadableDuration, MAX_PHOTOS, MAX_SCHEDULE_AHEAD_DAYS } from './rules.js';
import { createUploader, errorMessage } from './upload.js';

const form = document.getElementById('post-form');
if (form) setUp(form);

function setUp(form) {
  const $ = (id) => document.getElementById(id);
  const media = form.dataset.media === 'photos' ? 'photos' : 'video';
  const csrf = form.dataset.csrf ?? '';
  let creator = {};
  try {
    creator = JSON.parse(form.dataset.creator ?? '{}') ?? {};
  } catch {
    // A broken attribute must not leave a form that posts without checks:
    // with no privacy options the button stays disabled.
  }

  const fileInput = $('file');
  const fileNote = $('file-note');
  const preview = $('preview');
  const privacy = $('privacy');
  const privacyNote = $('privacy-note');
  const disclose = $('disclose');
  const disclosureOptions = $('disclosure-options');
  const yourBrand = $('your-brand');
  const branded = $('branded-content');
  const brandedNote = $('branded-note');
  const disclosureLabel = $('disclosure-label');
  const disclosureRequired = $('disclosure-required');
  const declarationEl = $('declaration');
  const formError = $('form-error');
  const button = $('post-button');
  const buttonReason = $('post-button-reason');
  const progress = $('upload-progress');
  const title = $('title');
  const description = $('description');
  const scheduleInput = $('publish-at-local');
  const publishAt = $('publish-at');
  const scheduleZone = $('schedule-zone');
  const scheduleNote = $('schedule-note');
  // The parts each mode shows; hidden ones are disabled too, so the form
  // never sends what the page does not show.
  const sections = {
    title: $('title-field'),
    description: $('description-field'),
    privacy: $('privacy-field'),
    interactions: $('interactions'),
    disclosure: $('disclosure'),
    schedule: $('schedule-fields'),
  };
  const draftNote = $('draft-note');
  const uploader = createUploader({ signUrl: form.dataset.signUrl, csrf, progress });

  // Guideline 2c: a box the creator turned off stays off, whatever happens.
  const lockedByCreator = (box) => box?.dataset.creatorDisabled === 'true';

  let files = []; // the File objects chosen, in the order the picker gave them
  let duration = null; // seconds; null = not known yet; NaN = unreadable
  let objectUrls = [];
  let pickGeneration = 0; // ignores a late loadedmetadata from an older pick
  let busy = false;
  let shownDeclaration = null; // the sentence #declaration holds, once rebuilt

  // ---------------------------------------------------------------- state

  function currentState() {
    const mode = form.querySelector('input[name="mode"]:checked')?.value ?? 'now';
    // datetime-local has no zone: Date reads "YYYY-MM-DDTHH:MM" as the
    // browser's local time, which is what the page says it is.
    const scheduleAt = scheduleInput?.value ? new Date(scheduleInput.value).getTime() : NaN;
    return {
      creator,
      media,
      mode,
      fileCount: files.length,
      duration,
      title: title?.value ?? '',
      description: description?.value ?? '',
      scheduleAt,
      now: Date.now(),
      privacy: privacy?.value ?? '',
      disclose: Boolean(disclose?.checked),
      yourBrand: Boolean(yourBrand?.checked),
      brandedContent: Boolean(branded?.checked),
    };
  }

  function setNote(el, text) {
    if (!el) return;
    el.textContent = text ?? '';
    el.hidden = !text;
  }

  function showSection(el, shown) {
    if (!el) return;
    el.hidden = !shown;
    for (const control of el.querySelectorAll('input, select, textarea')) {
      if (!shown) control.disabled = true;
      // Shown again: usable, unless something below disables it.
      else if (!lockedByCreator(control)) control.disabled = false;
    }
  }

  function setCount(id, count) {
    const el = $(id);
    if (!el) return;
    el.textContent = count.text;
    el.classList.toggle('over', count.over);
  }

  function renderMode(view) {
    for (const [name, el] of Object.entries(sections)) showSection(el, view.fields[name]);
    if (draftNote) draftNote.hidden = view.mode !== 'draft';
    setCount('title-count', view.titleCount);
    setCount('description-count', view.descriptionCount);
    if (publishAt) {
      publishAt.disabled = !view.fields.schedule || !view.schedule?.ok;
      publishAt.value = view.schedule?.publishAt ?? '';
    }
    let when = null;
    if (view.schedule?.ok && !view.schedule.message) {
      const at = new Date(view.schedule.publishAt);
      // (dateStyle and timeStyle cannot be combined with timeZoneName.)
      const local = at.toLocaleString(undefined, {
        weekday: 'long',
        year: 'numeric',
        month: 'long',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        timeZoneName: 'short',
      });
      when = `Posts on ${local} (${view.schedule.publishAt.replace('T', ' ').replace('Z', ' UTC')}).`;
    } else if (view.schedule?.message && scheduleInput?.value) {
      when = view.schedule.message;
    }
    setNote(scheduleNote, when);
  }

  function render() {
    const view = evaluate(currentState());
    renderMode(view);

    // Guideline 2b / 3b: only the creator's options, "Only me" disabled while
    // branded content is ticked. The title is the hover text TikTok asks for;
    // #privacy-note repeats it on screen because native <select> popups do
    // not show tooltips in screen recordings.
    if (privacy) {
      for (const option of privacy.options) {
        if (!option.value) continue; // the "Choose…" placeholder stays disabled
        const rule = view.privacyOptions.find((o) => o.value === option.value);
        option.disabled = !rule || rule.disabled;
        if (rule?.reason) option.title = rule.reason;
        else option.removeAttribute('title');
      }
    }
    setNote(privacyNote, view.privacyNote);

    // Guideline 3a: the two boxes appear only while the switch is on.
    if (disclosureOptions) disclosureOptions.hidden = !view.showDisclosureOptions;

    // Guideline 3b: "Only me" chosen → Branded content disabled, with the reason.
    if (branded) {
      // (A draft's hidden disclosure stays disabled: showSection did it.)
      if (view.fields.disclosure) branded.disabled = view.branded.disabled;
      if (view.branded.reason) branded.title = view.branded.reason;
      else branded.removeAttribute('title');
    }
    setNote(brandedNote, view.branded.reason);

    // Guideline 3a: the label prompt, never shown by default.
    setNote(disclosureLabel, view.labelPrompt);
    setNote(disclosureRequired, view.disclosureWarning);

    // Guideline NOTE + 4: the declaration, rebuilt with its links when its
    // sentence changes (not on every keystroke).
    if (declarationEl && view.declaration.text !== shownDeclaration) {
      shownDeclaration = view.declaration.text;
      declarationEl.replaceChildren(
        ...view.declaration.parts.map((part) => {
          if (typeof part === 'string') return document.createTextNode(part);
          const a = document.createElement('a');
          a.href = part.href;
          a.textContent = part.text;
          // A new tab, so reading the policy does not lose the form.
          a.target = '_blank';
          a.rel = 'noopener noreferrer';
          return a;
        }),
      );
    }

    // Guideline 2c: interactions per media kind and per creator settings.
    for (const { name, shown, disabled } of view.interactions) {
      const box = $(`allow-${name}`);
      if (!box) continue;
      const label = box.closest('label');
      if (label) label.hidden = !shown;
      if (disabled || lockedByCreator(box)) {
        box.disabled = true;
        box.checked = false;
      }
    }

    button.textContent = view.buttonLabel;
    const reason = busy ? 'Sending…' : view.post.reason;
    button.disabled = busy || !view.post.enabled;
    if (reason) button.title = reason;
    else button.removeAttribute('title');
    setNote(buttonReason, reason);
    return view;
  }

  // ---------------------------------------------------------------- file pick

  function clearPreview() {
    for (const url of objectUrls) URL.revokeObjectURL(url);
    objectUrls = [];
    preview?.replaceChildren();
  }

  function objectUrl(file) {
    const url = URL.createObjectURL(file);
    objectUrls.push(url);
    return url;
  }

  function onPick() {
    files = Array.from(fileInput.files ?? []);
    duration = null;
    uploader.forget(); // a new choice needs a new upload
    const generation = ++pickGeneration;
    clearPreview();
    setNote(fileNote, null);

    // Guideline 5a: a preview of what will be posted.
    if (media === 'video' && files[0]) {
      const video = document.createElement('video');
      video.controls = true;
      video.muted = true;
      video.preload = 'metadata';
      // Guideline 1c: read the length as soon as the metadata is there.
      video.addEventListener('loadedmetadata', () => {
        if (generation !== pickGeneration) return;
        // MediaRecorder WebM files report Infinity: treat as unreadable.
        const verdict = Number.isFinite(video.duration)
          ? durationVerdict(video.duration, creator.max_video_post_duration_sec)
          : unreadableDuration();
        duration = verdict.unreadable ? NaN : video.duration;
        setNote(fileNote, verdict.message);
        render();
      });
      // E.g. Chromium cannot decode HEVC: posting stays allowed, the server checks.
      video.addEventListener('error', () => {
        if (generation !== pickGeneration) return;
        duration = NaN;
        setNote(fileNote, unreadableDuration().message);
        render();
      });
      video.src = objectUrl(files[0]);
      preview?.append(video);
    } else if (media === 'photos') {
      // In the order they will appear on TikTok; the first is the cover.
      files.forEach((file, i) => {
        const figure = document.createElement('figure');
        const img = document.createElement('img');
        img.alt = `Photo ${i + 1} of ${files.length}: ${file.name}`;
        img.src = objectUrl(file);
        const caption = document.createElement('figcaption');
        caption.textContent = i === 0 ? '1 (cover)' : String(i + 1);
        figure.append(img, caption);
        preview?.append(figure);
      });
      if (files.length > 0) {
        setNote(fileNote, `${files.length} of at most ${MAX_PHOTOS} photos chosen.`);
      }
    }
    render();
  }

  // ---------------------------------------------------------------- send

  function setKeys(keys) {
    if (media === 'video') {
      form.elements.namedItem('key').value = keys[0];
      return;
    }
    for (const old of form.querySelectorAll('input[name="images"]')) old.remove();
    for (const key of keys) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = 'images';
      input.value = key;
      form.append(input);
    }
  }

  function showError(message, field) {
    setNote(formError, message);
    // The API names a photo by its place (`images[1]`).
    const name = field?.startsWith('images[') ? 'images' : field;
    const control = { publish_at: 'publish-at-local', images: 'file', key: 'file' }[name];
    const target = control ? $(control) : field && form.elements.namedItem(field);
    if (target && typeof target.focus === 'function' && !(target instanceof RadioNodeList)) {
      target.focus();
    }
  }

  async function onSubmit(event) {
    event.preventDefault();
    if (busy) return;
    if (!render().post.enabled) return;
    busy = true;
    if (fileInput) fileInput.disabled = true; // the chosen files are what is uploading
    setNote(formError, null);
    render();
    try {
      const keys = await uploader.upload(files);
      // The user may have changed the form while the file was uploading.
      const view = evaluate(currentState());
      if (!view.post.enabled) {
        showError(view.post.reason);
        return;
      }
      setKeys(keys);
      const body = new URLSearchParams();
      for (const [name, value] of new FormData(form)) {
        if (typeof value === 'string') body.append(name, value); // never a File
      }
      const response = await fetch(form.action, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'X-CSRF-Token': csrf,
        },
        body,
        credentials: 'same-origin',
        redirect: 'follow',
      });
      if (response.ok) {
        // The server answers 303 to the post's page; fetch followed it.
        window.location.assign(response.url);
        return; // stay busy while the browser navigates
      }
      let error = {};
      try {
        error = (await response.json())?.error ?? {};
      } catch {
        // not JSON
      }
      // A refused key (expired, already used) needs a fresh upload.
      if (error.field === 'key' || error.field?.startsWith('images')) uploader.forgetKeys();
      showError(error.message || `The server answered ${response.status}.`, error.field);
    } catch (err) {
      showError(err?.message || 'The upload failed. Press Post to try again.');
    }
    busy = false;
    if (fileInput) fileInput.disabled = false;
    render();
  }

  // ---------------------------------------------------------------- wiring

  fileInput?.addEventListener('change', onPick);
  disclose?.addEventListener('change', () => {
    // Switching disclosure off withdraws both choices, so what is sent is
    // what the page shows (guideline 3a: off by default, boxes unticked).
    if (!disclose.checked) {
      if (yourBrand) yourBrand.checked = false;
      if (branded) branded.checked = false;
    }
  });
  if (scheduleZone) {
    // The time zone made explicit: the picker's time is the browser's.
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'local time';
    const offset = -new Date().getTimezoneOffset();
    const sign = offset < 0 ? '-' : '+';
    const hh = String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0');
    const mm = String(Math.abs(offset) % 60).padStart(2, '0');
    scheduleZone.textContent =
      `In your time zone, ${zone} (UTC${sign}${hh}:${mm}). At most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead; ` +
      'a time already past posts at once.';
  }
  form.addEventListener('input', render);
  form.addEventListener('change', render);
  form.addEventListener('submit', onSubmit);

  // A restored page (back button) may come with a file already chosen.
  if (fileInput?.files?.length) onPick();
  else render();
}
