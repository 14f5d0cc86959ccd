// node --test functions/console/web/test/
//
// TikTok's strings are asserted as literals here, not through rules.js's
// TEXT table, so a change to a verbatim string fails a test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  declaration,
  durationVerdict,
  evaluate,
  formatDuration,
  labelPrompt,
  privacyLabel,
  unreadableDuration,
} from '../src/rules.js';

const BRANDED_NOT_PRIVATE = 'Branded content visibility cannot be set to private.';
const DISCLOSURE_REQUIRED =
  'You need to indicate if your content promotes yourself, a third party, or both.';
const PROMOTIONAL = "Your photo/video will be labeled as 'Promotional content'";
const PAID = "Your photo/video will be labeled as 'Paid partnership'";
const DECL_MUSIC = "By posting, you agree to TikTok's Music Usage Confirmation.";
const DECL_BRANDED =
  "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation.";
const MUSIC_URL = 'https://www.tiktok.com/legal/page/global/music-usage-confirmation/en';
const BC_URL = 'https://www.tiktok.com/legal/page/global/bc-policy/en';
const UNREADABLE =
  'This browser cannot read this video; the server will check its duration when you post.';

const creator = {
  privacy_level_options: ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'FOLLOWER_OF_CREATOR', 'SELF_ONLY'],
  comment_disabled: false,
  duet_disabled: true,
  stitch_disabled: false,
  max_video_post_duration_sec: 600,
};

/** A state that may post, with `over` changes. */
function state(over = {}) {
  return {
    creator,
    media: 'video',
    fileCount: 1,
    duration: 42,
    privacy: 'PUBLIC_TO_EVERYONE',
    disclose: false,
    yourBrand: false,
    brandedContent: false,
    ...over,
  };
}

const option = (view, value) => view.privacyOptions.find((o) => o.value === value);

test('a complete form may post', () => {
  const view = evaluate(state());
  assert.deepEqual(view.post, { enabled: true, reason: null, reasons: [] });
});

// ------------------------------------------------------------ privacy (2b)

test('privacy labels, unknown levels keep their raw name', () => {
  assert.equal(privacyLabel('PUBLIC_TO_EVERYONE'), 'Everyone');
  assert.equal(privacyLabel('MUTUAL_FOLLOW_FRIENDS'), 'Friends');
  assert.equal(privacyLabel('FOLLOWER_OF_CREATOR'), 'Followers');
  assert.equal(privacyLabel('SELF_ONLY'), 'Only me');
  assert.equal(privacyLabel('SOMETHING_NEW'), 'SOMETHING_NEW');
  assert.equal(privacyLabel('toString'), 'toString');
});

test('privacy options follow the creator, in order, none disabled by default', () => {
  const view = evaluate(state({ creator: { ...creator, privacy_level_options: ['SELF_ONLY', 'NEW_LEVEL'] } }));
  assert.deepEqual(view.privacyOptions, [
    { value: 'SELF_ONLY', label: 'Only me', disabled: false, reason: null },
    { value: 'NEW_LEVEL', label: 'NEW_LEVEL', disabled: false, reason: null },
  ]);
  assert.equal(view.privacyNote, null);
});

test('no privacy chosen: Post disabled (no default value)', () => {
  const view = evaluate(state({ privacy: '' }));
  assert.equal(view.privacy, '');
  assert.equal(view.post.enabled, false);
  assert.equal(view.post.reason, 'Choose who can see this post.');
});

test('a privacy level the creator does not have counts as no choice', () => {
  const view = evaluate(state({ creator: { ...creator, privacy_level_options: ['SELF_ONLY'] } }));
  assert.equal(view.privacy, '');
  assert.equal(view.post.enabled, false);
});

test('missing creator info: nothing to choose, cannot post', () => {
  const view = evaluate(state({ creator: undefined }));
  assert.deepEqual(view.privacyOptions, []);
  assert.equal(view.post.enabled, false);
});

// ------------------------------------------------------ disclosure (3a, 3b, 4)

test('disclosure off: no options, no label prompt, music-only declaration', () => {
  const view = evaluate(state());
  assert.equal(view.showDisclosureOptions, false);
  assert.equal(view.labelPrompt, null);
  assert.equal(view.disclosureWarning, null);
  assert.equal(view.declaration.text, DECL_MUSIC);
});

test('disclosure on, no box ticked: Post disabled with TikTok\'s sentence', () => {
  const view = evaluate(state({ disclose: true }));
  assert.equal(view.showDisclosureOptions, true);
  assert.equal(view.labelPrompt, null, 'no label prompt by default');
  assert.equal(view.disclosureWarning, DISCLOSURE_REQUIRED);
  assert.equal(view.post.enabled, false);
  assert.equal(view.post.reason, DISCLOSURE_REQUIRED);
});

test('only Your brand: Promotional content, music-only declaration', () => {
  const view = evaluate(state({ disclose: true, yourBrand: true }));
  assert.equal(view.labelPrompt, PROMOTIONAL);
  assert.equal(view.declaration.text, DECL_MUSIC);
  assert.equal(view.disclosureWarning, null);
  assert.equal(view.post.enabled, true);
  assert.equal(option(view, 'SELF_ONLY').disabled, false);
});

test('only Branded content: Paid partnership, branded declaration', () => {
  const view = evaluate(state({ disclose: true, brandedContent: true }));
  assert.equal(view.labelPrompt, PAID);
  assert.equal(view.declaration.text, DECL_BRANDED);
  assert.equal(view.post.enabled, true);
});

test('both boxes: Paid partnership, branded declaration', () => {
  const view = evaluate(state({ disclose: true, yourBrand: true, brandedContent: true }));
  assert.equal(view.labelPrompt, PAID);
  assert.equal(view.declaration.text, DECL_BRANDED);
});

test('labelPrompt on its own', () => {
  assert.equal(labelPrompt(false, false), null);
  assert.equal(labelPrompt(true, false), PROMOTIONAL);
  assert.equal(labelPrompt(false, true), PAID);
  assert.equal(labelPrompt(true, true), PAID);
});

test('boxes ticked while the switch is off count for nothing', () => {
  const view = evaluate(state({ disclose: false, yourBrand: true, brandedContent: true, privacy: 'SELF_ONLY' }));
  assert.equal(view.labelPrompt, null);
  assert.equal(view.declaration.text, DECL_MUSIC);
  assert.equal(option(view, 'SELF_ONLY').disabled, false);
  assert.equal(view.post.enabled, true);
});

test('Branded content ticked first: Only me disabled with TikTok\'s reason', () => {
  const view = evaluate(state({ disclose: true, brandedContent: true, privacy: '' }));
  assert.deepEqual(option(view, 'SELF_ONLY'), {
    value: 'SELF_ONLY',
    label: 'Only me',
    disabled: true,
    reason: BRANDED_NOT_PRIVATE,
  });
  for (const value of ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'FOLLOWER_OF_CREATOR']) {
    assert.equal(option(view, value).disabled, false, value);
    assert.equal(option(view, value).reason, null, value);
  }
  assert.equal(view.privacyNote, BRANDED_NOT_PRIVATE);
  assert.equal(view.branded.disabled, false);
});

test('Only me chosen first: Branded content disabled with the same reason', () => {
  const view = evaluate(state({ privacy: 'SELF_ONLY', disclose: true }));
  assert.deepEqual(view.branded, { disabled: true, reason: BRANDED_NOT_PRIVATE });
  assert.equal(view.privacyNote, null);
  // The switch alone stays usable: Your brand is allowed with Only me.
  const withBrand = evaluate(state({ privacy: 'SELF_ONLY', disclose: true, yourBrand: true }));
  assert.equal(withBrand.post.enabled, true);
  assert.equal(withBrand.labelPrompt, PROMOTIONAL);
});

test('Branded content is enabled for every other privacy level', () => {
  for (const privacy of ['', 'PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'FOLLOWER_OF_CREATOR']) {
    assert.deepEqual(evaluate(state({ privacy, disclose: true })).branded, { disabled: false, reason: null });
  }
});

test('a restored form with Only me and Branded content cannot post', () => {
  const view = evaluate(state({ privacy: 'SELF_ONLY', disclose: true, brandedContent: true }));
  assert.equal(view.privacy, '');
  assert.equal(view.post.enabled, false);
  assert.equal(view.post.reason, BRANDED_NOT_PRIVATE);
});

test('declaration parts carry the two links', () => {
  assert.deepEqual(declaration(false).parts, [
    "By posting, you agree to TikTok's ",
    { text: 'Music Usage Confirmation', href: MUSIC_URL },
    '.',
  ]);
  assert.deepEqual(declaration(true).parts, [
    "By posting, you agree to TikTok's ",
    { text: 'Branded Content Policy', href: BC_URL },
    ' and ',
    { text: 'Music Usage Confirmation', href: MUSIC_URL },
    '.',
  ]);
  assert.equal(declaration(false).text, DECL_MUSIC);
  assert.equal(declaration(true).text, DECL_BRANDED);
});

// ------------------------------------------------------- interactions (2c)

test('video: Comment, Duet, Stitch shown; creator-disabled ones disabled', () => {
  assert.deepEqual(evaluate(state()).interactions, [
    { name: 'comment', shown: true, disabled: false },
    { name: 'duet', shown: true, disabled: true },
    { name: 'stitch', shown: true, disabled: false },
  ]);
});

test('photos: only Comment shown', () => {
  const view = evaluate(state({ media: 'photos', duration: null, creator: { ...creator, comment_disabled: true } }));
  assert.deepEqual(
    view.interactions.filter((i) => i.shown),
    [{ name: 'comment', shown: true, disabled: true }],
  );
});

// ------------------------------------------------------------ files (1c, 5a)

test('no video chosen', () => {
  const view = evaluate(state({ fileCount: 0, duration: null }));
  assert.equal(view.post.enabled, false);
  assert.equal(view.post.reason, 'Choose a video to post.');
});

test('no photo chosen; too many photos', () => {
  const none = evaluate(state({ media: 'photos', fileCount: 0, duration: null }));
  assert.equal(none.post.reason, 'Choose at least one photo to post.');
  assert.equal(evaluate(state({ media: 'photos', fileCount: 35, duration: null })).post.enabled, true);
  const many = evaluate(state({ media: 'photos', fileCount: 36, duration: null }));
  assert.equal(many.post.enabled, false);
  assert.match(many.post.reason, /35/);
});

test('the photos duration is never checked', () => {
  const view = evaluate(state({ media: 'photos', duration: 10_000 }));
  assert.equal(view.post.enabled, true);
});

test('video longer than the creator\'s limit: Post disabled, limit named', () => {
  const view = evaluate(state({ duration: 601 }));
  assert.equal(view.post.enabled, false);
  assert.equal(view.post.reason, 'This video is 10:01 long; this account can post videos up to 10:00 (600 seconds).');
});

test('duration unknown yet or unreadable: posting allowed', () => {
  assert.equal(evaluate(state({ duration: null })).post.enabled, true);
  assert.equal(evaluate(state({ duration: NaN })).post.enabled, true);
});

test('reasons come in the page\'s order, first one shown', () => {
  const view = evaluate(state({ fileCount: 0, privacy: '', disclose: true }));
  assert.deepEqual(view.post.reasons, ['Choose a video to post.', 'Choose who can see this post.', DISCLOSURE_REQUIRED]);
  assert.equal(view.post.reason, 'Choose a video to post.');
});

test('durationVerdict', () => {
  assert.deepEqual(durationVerdict(42, 600), {
    ok: true,
    message: 'This video is 0:42 long; the limit for this account is 10:00 (600 seconds).',
  });
  assert.equal(durationVerdict(600, 600).ok, true, 'exactly the limit is allowed');
  assert.deepEqual(durationVerdict(600.4, 600), {
    ok: false,
    message: 'This video is 10:01 long; this account can post videos up to 10:00 (600 seconds).',
  }, 'a fraction over is not');
  assert.deepEqual(durationVerdict(3700, 3600), {
    ok: false,
    message: 'This video is 1:01:40 long; this account can post videos up to 1:00:00 (3600 seconds).',
  });
  assert.deepEqual(durationVerdict(30, undefined), { ok: true, message: 'This video is 0:30 long.' });
  assert.equal(durationVerdict(Infinity, 600).unreadable, true);
  assert.equal(durationVerdict(NaN, 600).message, UNREADABLE);
});

test('unreadableDuration says the server will check', () => {
  assert.deepEqual(unreadableDuration(), { ok: true, unreadable: true, message: UNREADABLE });
});

test('formatDuration', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(59.9), '0:59');
  assert.equal(formatDuration(600), '10:00');
  assert.equal(formatDuration(3661), '1:01:01');
});
