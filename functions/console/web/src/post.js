// The "Post to TikTok" page: keeps the form's controls in the state rules.js
// computes, shows a preview, and on the Post button uploads the file(s) to S3
// with Uppy and then sends the form.
//
// Config comes only from data- attributes on #post-form: the page's CSP
// forbids inline scripts. Nothing here runs when the page has no form (the
// creator cannot post right now, guideline 1b).

import Uppy from '@uppy/core';
import AwsS3 from '@uppy/aws-s3';
import StatusBar from '@uppy/status-bar';
import { evaluate, durationVerdict, unreadableDuration, MAX_PHOTOS } from './rules.js';

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

  // Guideline 2c: a box the creator turned off stays off, whatever happens.
  const lockedByCreator = (box) => box?.dataset.creatorDisabled === 'true';

  let files = []; // the File objects chosen, in the order the picker gave them
  let duration = null; // seconds; null = not known yet; NaN = unreadable
  let objectUrls = [];
  let pickGeneration = 0; // ignores a late loadedmetadata from an older pick
  let busy = false;
  let uploaded = null; // {files, keys}: S3 keys of an earlier upload of `files`
  let uppy = null; // created on the first press of Post (guideline 5c)
  let shownDeclaration = null; // the sentence #declaration holds, once rebuilt
  const uppyIds = new Map(); // File → Uppy file id
  const requestedKeys = new Map(); // client key → File, to describe it to the signer

  // ---------------------------------------------------------------- state

  function currentState() {
    return {
      creator,
      media,
      fileCount: files.length,
      duration,
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

  function render() {
    const view = evaluate(currentState());

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
      branded.disabled = view.branded.disabled;
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

    const reason = busy ? 'Posting…' : view.post.reason;
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
    uploaded = null; // a new choice needs a new upload
    const generation = ++pickGeneration;
    clearPreview();
    setNote(fileNote, null);
    if (uppy) {
      uppy.cancelAll(); // forget files of an earlier (failed) press
      uppyIds.clear();
    }

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
      files.forEach((file, i) => {
        const img = document.createElement('img');
        img.alt = `Photo ${i + 1} of ${files.length}`;
        img.src = objectUrl(file);
        preview?.append(img);
      });
      if (files.length > 0) {
        setNote(fileNote, `${files.length} of at most ${MAX_PHOTOS} photos chosen.`);
      }
    }
    render();
  }

  // ---------------------------------------------------------------- upload

  async function signRequest({ method, key, uploadId, partNumber, contentType }) {
    // Only the create request names a file; later ones use the server's key.
    const file = requestedKeys.get(key);
    const response = await fetch(form.dataset.signUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({
        method,
        key,
        uploadId,
        partNumber,
        filename: file?.name,
        content_type: contentType ?? (file ? file.type || 'application/octet-stream' : undefined),
      }),
      credentials: 'same-origin',
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    return response.json(); // {url, key?, headers?}; a key on create is the server's choice
  }

  function getUppy() {
    if (uppy) return uppy;
    // autoProceed false: adding a file never starts a transfer; only the
    // press of Post calls upload() (guideline 5c).
    uppy = new Uppy({ autoProceed: false });
    uppy.use(AwsS3, {
      shouldUseMultipart: true,
      signRequest,
      allowedMetaFields: false,
      // A throw-away client key; the server returns the real one on create.
      generateObjectKey(uppyFile) {
        const key = `upload-${uppyFile.id}`;
        requestedKeys.set(key, uppyFile.data);
        return key;
      },
    });
    if (progress) {
      uppy.use(StatusBar, {
        target: progress,
        hideAfterFinish: false,
        hideUploadButton: true, // the Post button is the only way to start
        hideRetryButton: true, // pressing Post again retries
        showProgressDetails: true,
      });
    }
    return uppy;
  }

  /** Uploads `files` (once) and returns their S3 keys, in order. */
  async function upload() {
    if (uploaded && uploaded.files === files) return uploaded.keys;
    const u = getUppy();
    // Files are handed to Uppy only now. The status bar's Cancel removes
    // them, so a file Uppy no longer knows is added again.
    const missing = files.filter((file) => !(uppyIds.has(file) && u.getFile(uppyIds.get(file))));
    if (missing.length) {
      u.addFiles(
        missing.map((file) => ({ name: file.name, type: file.type, data: file, source: 'post-form' })),
      );
      for (const uf of u.getFiles()) uppyIds.set(uf.data, uf.id);
    }
    const result = await u.upload(); // also retries files that failed on an earlier press
    // @uppy/aws-s3 6 clears file.s3Multipart once Complete succeeds; the final
    // key (the one the signer returned on create, echoed by S3's
    // CompleteMultipartUploadResult) is in the upload-success body.
    const keys = files.map((file) => u.getFile(uppyIds.get(file))?.response?.body?.key);
    if (keys.some((key) => !key)) {
      const failed = result?.failed?.find((f) => f.error);
      throw new Error(
        failed ? `The upload failed: ${failed.error}` : 'The upload did not finish. Press Post to try again.',
      );
    }
    uploaded = { files, keys };
    return keys;
  }

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

  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body?.error?.message) return body.error.message;
    } catch {
      // not JSON: fall through
    }
    return `The server answered ${response.status} ${response.statusText}`.trim() + '.';
  }

  function showError(message, field) {
    setNote(formError, message);
    const target = field && form.elements.namedItem(field);
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
      const keys = await upload();
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
      if (error.field === 'key' || error.field === 'images') uploaded = null;
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
  form.addEventListener('input', render);
  form.addEventListener('change', render);
  form.addEventListener('submit', onSubmit);

  // A restored page (back button) may come with a file already chosen.
  if (fileInput?.files?.length) onPick();
  else render();
}
