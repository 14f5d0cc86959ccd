// TikTok's Content Sharing Guidelines (Direct Post) as pure functions: no DOM,
// so every rule is unit-tested in Node (test/rules.test.mjs) and post.js only
// copies the answer onto the page.
//
// Guideline numbers refer to "Required UX Implementation in Your App" on
// https://developers.tiktok.com/doc/content-sharing-guidelines (see
// research-16-console.md §1.1). Strings marked VERBATIM are TikTok's own
// words: auditors reject paraphrases, so never reword them.

export const LINKS = Object.freeze({
  musicUsage: 'https://www.tiktok.com/legal/page/global/music-usage-confirmation/en',
  brandedContentPolicy: 'https://www.tiktok.com/legal/page/global/bc-policy/en',
});

export const TEXT = Object.freeze({
  // VERBATIM, guideline 3b (both directions use TikTok's one sentence).
  brandedNotPrivate: 'Branded content visibility cannot be set to private.',
  // VERBATIM, guideline 3a.
  disclosureRequired:
    'You need to indicate if your content promotes yourself, a third party, or both.',
  // VERBATIM, guideline 3a ("photo/video" is TikTok's literal text, §1.2).
  labelPromotional: "Your photo/video will be labeled as 'Promotional content'",
  labelPaidPartnership: "Your photo/video will be labeled as 'Paid partnership'",
  // Ours, not TikTok's.
  chooseVideo: 'Choose a video to post.',
  choosePhotos: 'Choose at least one photo to post.',
  choosePrivacy: 'Choose who can see this post.',
  unreadableDuration:
    'This browser cannot read this video; the server will check its duration when you post.',
  chooseTime: 'Choose when to post.',
  pastTime: 'That time has passed: the post goes out as soon as you press the button.',
});

// How the post goes out (the posts API's `mode` and `publish_at`).
export const MODES = Object.freeze(['now', 'schedule', 'draft']);

// What the button says in each mode.
export const BUTTON_LABELS = Object.freeze({
  now: 'Post',
  schedule: 'Schedule post',
  draft: 'Send to TikTok inbox',
});

// docs/publishing.md: a post may be scheduled at most 300 days ahead (the
// posts API refuses later; a Standard Step Functions execution lives a year).
export const MAX_SCHEDULE_AHEAD_DAYS = 300;
const DAY_MS = 24 * 3600 * 1000;

// TikTok's limits, in UTF-16 code units (tiktok-api.md §4; TikTok's Photo
// Post page: "title ... 90 UTF-16 runes", "description ... 4000").
export const TITLE_LIMITS = Object.freeze({ video: 2200, photos: 90 });
export const MAX_DESCRIPTION = 4000;

// Guideline 2b: the options come from creator_info; these are the display
// names. A level TikTok adds later keeps its raw name rather than vanishing.
export const PRIVACY_LABELS = Object.freeze({
  PUBLIC_TO_EVERYONE: 'Everyone',
  MUTUAL_FOLLOW_FRIENDS: 'Friends',
  FOLLOWER_OF_CREATOR: 'Followers',
  SELF_ONLY: 'Only me',
});

export const SELF_ONLY = 'SELF_ONLY';

// tiktok-api.md §4b: a photo post carries 1 to 35 images.
export const MAX_PHOTOS = 35;

/**
 * A text's length as TikTok counts it: UTF-16 code units, which is what a JS
 * string's length is (an emoji counts as 2).
 */
export function textLength(text) {
  return String(text ?? '').length;
}

/** "12 / 90": what a limited field shows under it, and whether it is over. */
export function counter(text, limit) {
  const length = textLength(text);
  return { text: `${length} / ${limit}`, over: length > limit, length };
}

/**
 * The scheduled time. `at` is the epoch milliseconds of what the creator
 * picked in their own time zone (NaN or null: nothing or half a date yet);
 * `now` the page's clock. Returns {ok, message, publishAt}: publishAt is the
 * RFC 3339 UTC time the posts API takes.
 */
export function scheduleVerdict(at, now) {
  if (at == null || !Number.isFinite(at)) return { ok: false, message: TEXT.chooseTime, publishAt: null };
  const publishAt = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (at - now > MAX_SCHEDULE_AHEAD_DAYS * DAY_MS) {
    return {
      ok: false,
      message: `Choose a time at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead.`,
      publishAt,
    };
  }
  // The posts API posts a past time at once: say so rather than refuse it.
  if (at <= now) return { ok: true, message: TEXT.pastTime, publishAt };
  return { ok: true, message: null, publishAt };
}

export function privacyLabel(level) {
  // (Object.hasOwn is ES2022; the bundle targets ES2020.)
  return Object.prototype.hasOwnProperty.call(PRIVACY_LABELS, level) ? PRIVACY_LABELS[level] : String(level);
}

/** "m:ss" (or "h:mm:ss") for a number of seconds, rounded down. */
export function formatDuration(seconds) {
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/**
 * Guideline 1c: the video must not be longer than creator_info's
 * max_video_post_duration_sec. Returns {ok, message}.
 */
export function durationVerdict(seconds, maxSeconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return unreadableDuration();
  // Rounded up, so a video a fraction of a second over reads as over.
  const length = `This video is ${formatDuration(Math.ceil(seconds))} long`;
  if (!Number.isFinite(maxSeconds) || maxSeconds <= 0) {
    return { ok: true, message: `${length}.` };
  }
  const limit = `${formatDuration(maxSeconds)} (${maxSeconds} seconds)`;
  // Strictly greater: a fraction of a second over is over. The server
  // repeats this check with its own reading of the file.
  if (seconds > maxSeconds) {
    return {
      ok: false,
      message: `${length}; this account can post videos up to ${limit}.`,
    };
  }
  return { ok: true, message: `${length}; the limit for this account is ${limit}.` };
}

/**
 * When the browser cannot decode the video (e.g. Chromium and HEVC), posting
 * stays allowed: the server measures the file before it is sent to TikTok.
 */
export function unreadableDuration() {
  return { ok: true, unreadable: true, message: TEXT.unreadableDuration };
}

/** Guideline NOTE and point 4: the consent sentence, as text plus links. */
export function declaration(brandedContent) {
  const music = { text: 'Music Usage Confirmation', href: LINKS.musicUsage };
  // VERBATIM. With branded content it is ONE sentence, not a second one (§1.3).
  const parts = brandedContent
    ? [
        "By posting, you agree to TikTok's ",
        { text: 'Branded Content Policy', href: LINKS.brandedContentPolicy },
        ' and ',
        music,
        '.',
      ]
    : ["By posting, you agree to TikTok's ", music, '.'];
  return { parts, text: parts.map((p) => (typeof p === 'string' ? p : p.text)).join('') };
}

/** Guideline 3a: the prompt shown only once a box is ticked (never by default). */
export function labelPrompt(yourBrand, brandedContent) {
  if (brandedContent) return TEXT.labelPaidPartnership; // branded alone, or both
  if (yourBrand) return TEXT.labelPromotional;
  return null;
}

const INTERACTIONS = [
  { name: 'comment', flag: 'comment_disabled', photos: true },
  // Guideline 2c: "Duet and Stitch features are not applicable to photo posts."
  { name: 'duet', flag: 'duet_disabled', photos: false },
  { name: 'stitch', flag: 'stitch_disabled', photos: false },
];

/**
 * Everything the post form must show for one state of its controls.
 *
 * state = {
 *   creator: {privacy_level_options, comment_disabled, duet_disabled,
 *             stitch_disabled, max_video_post_duration_sec},
 *   media: 'video' | 'photos',
 *   mode: 'now' | 'schedule' | 'draft' (left out: 'now'),
 *   fileCount: number of files chosen,
 *   duration: seconds read by the browser, null while unknown, or NaN when
 *             the browser cannot read it (see unreadableDuration),
 *   title, description: the texts typed,
 *   scheduleAt: epoch ms of the chosen time (NaN/null: none), now: epoch ms,
 *   privacy: '' or a privacy level,
 *   disclose, yourBrand, brandedContent: booleans,
 * }
 */
export function evaluate(state) {
  const creator = state.creator ?? {};
  const photos = state.media === 'photos';
  const mode = MODES.includes(state.mode) ? state.mode : 'now';
  // A draft (TikTok's MEDIA_UPLOAD) takes no post settings: the creator
  // chooses them in the TikTok app. A photo draft keeps its title and
  // description; a video draft takes neither (TikTok's inbox init has no
  // post_info).
  const draft = mode === 'draft';
  const fields = {
    title: !(draft && !photos),
    description: photos,
    privacy: !draft,
    interactions: !draft,
    disclosure: !draft,
    schedule: mode === 'schedule',
  };
  const options = Array.isArray(creator.privacy_level_options)
    ? creator.privacy_level_options
    : [];

  // Guideline 3a: the two boxes only mean something while the switch is on.
  const disclose = fields.disclosure && Boolean(state.disclose);
  const yourBrand = disclose && Boolean(state.yourBrand);
  const brandedContent = disclose && Boolean(state.brandedContent);

  // Guideline 3b, first direction: branded content ticked → "Only me" disabled.
  const privacyOptions = options.map((value) => {
    const disabled = brandedContent && value === SELF_ONLY;
    return {
      value,
      label: privacyLabel(value),
      disabled,
      reason: disabled ? TEXT.brandedNotPrivate : null,
    };
  });
  const privacyNote = privacyOptions.some((o) => o.disabled) ? TEXT.brandedNotPrivate : null;

  // Guideline 2b: no default; an option the creator does not have (or that is
  // disabled) counts as no choice.
  const chosen = privacyOptions.find((o) => o.value === state.privacy && !o.disabled);
  const privacy = chosen ? chosen.value : '';

  // Guideline 3b, second direction: "Only me" chosen → Branded content disabled.
  const brandedDisabled = privacy === SELF_ONLY;
  const branded = {
    disabled: brandedDisabled,
    reason: brandedDisabled ? TEXT.brandedNotPrivate : null,
  };

  // Guideline 2c: shown per media kind, greyed out when the creator turned the
  // interaction off in the app; never checked by default (the page's job).
  const interactions = INTERACTIONS.map(({ name, flag, photos: onPhotos }) => ({
    name,
    shown: fields.interactions && (photos ? onPhotos : true),
    disabled: Boolean(creator[flag]),
  }));

  const titleLimit = TITLE_LIMITS[photos ? 'photos' : 'video'];
  const titleCount = counter(state.title, titleLimit);
  const descriptionCount = counter(state.description, MAX_DESCRIPTION);
  const schedule = fields.schedule ? scheduleVerdict(state.scheduleAt, state.now ?? Date.now()) : null;

  const reasons = [];
  const fileCount = Number(state.fileCount) || 0;
  if (fileCount === 0) {
    reasons.push(photos ? TEXT.choosePhotos : TEXT.chooseVideo);
  } else if (photos && fileCount > MAX_PHOTOS) {
    reasons.push(`Choose at most ${MAX_PHOTOS} photos (you chose ${fileCount}).`);
  }
  // Guideline 1c is about direct posts: the server checks a draft's length
  // against nothing (the creator finishes it in the app), so neither does the page.
  if (!photos && !draft && fileCount > 0 && state.duration != null) {
    const verdict = durationVerdict(state.duration, creator.max_video_post_duration_sec);
    if (!verdict.ok) reasons.push(verdict.message);
  }
  if (fields.title && titleCount.over) {
    reasons.push(
      `The title is ${titleCount.length} characters long; TikTok takes at most ${titleLimit} for ${
        photos ? 'a photo post' : 'a video'
      } (an emoji counts as 2).`,
    );
  }
  if (fields.description && descriptionCount.over) {
    reasons.push(
      `The description is ${descriptionCount.length} characters long; TikTok takes at most ${MAX_DESCRIPTION} (an emoji counts as 2).`,
    );
  }
  if (fields.privacy && !privacy) {
    // The state "Only me" plus branded content cannot be reached through the
    // page (each disables the other), but a restored form could carry it.
    reasons.push(state.privacy === SELF_ONLY && brandedContent ? TEXT.brandedNotPrivate : TEXT.choosePrivacy);
  }
  // Guideline 3a: switch on with neither box ticked → no posting.
  const disclosureWarning = disclose && !yourBrand && !brandedContent ? TEXT.disclosureRequired : null;
  if (disclosureWarning) reasons.push(disclosureWarning);
  if (schedule && !schedule.ok) reasons.push(schedule.message);

  return {
    mode,
    fields,
    privacyOptions,
    privacyNote,
    privacy,
    branded,
    showDisclosureOptions: disclose,
    disclosureWarning,
    labelPrompt: labelPrompt(yourBrand, brandedContent),
    declaration: declaration(brandedContent),
    interactions,
    titleCount: { ...titleCount, limit: titleLimit },
    descriptionCount: { ...descriptionCount, limit: MAX_DESCRIPTION },
    schedule,
    buttonLabel: BUTTON_LABELS[mode],
    post: { enabled: reasons.length === 0, reason: reasons[0] ?? null, reasons },
  };
}
