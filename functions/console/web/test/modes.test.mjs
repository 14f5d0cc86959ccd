// node --test functions/console/web/test/
//
// The Post page's modes (post now, schedule, draft) and its text limits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counter, evaluate, scheduleVerdict, textLength } from '../src/rules.js';

const creator = {
  privacy_level_options: ['PUBLIC_TO_EVERYONE', 'SELF_ONLY'],
  comment_disabled: false,
  duet_disabled: false,
  stitch_disabled: false,
  max_video_post_duration_sec: 60,
};
const NOW = Date.parse('2026-12-07T12:00:00Z');
const DAY = 24 * 3600 * 1000;

function state(over = {}) {
  return {
    creator,
    media: 'video',
    mode: 'now',
    fileCount: 1,
    duration: 42,
    title: '',
    description: '',
    scheduleAt: null,
    now: NOW,
    privacy: 'PUBLIC_TO_EVERYONE',
    disclose: false,
    yourBrand: false,
    brandedContent: false,
    ...over,
  };
}

const shownInteractions = (view) => view.interactions.filter((i) => i.shown).map((i) => i.name);

// ------------------------------------------------------------ text limits

test('lengths are UTF-16 code units, as TikTok counts them', () => {
  assert.equal(textLength('abc'), 3);
  assert.equal(textLength('é'), 1);
  assert.equal(textLength('😀'), 2, 'an emoji is two units');
  assert.equal(textLength(undefined), 0);
  assert.deepEqual(counter('😀x', 90), { text: '3 / 90', over: false, length: 3 });
  assert.equal(counter('x'.repeat(91), 90).over, true);
});

test('a video title takes 2200 units, a photo title 90', () => {
  assert.equal(evaluate(state({ title: 'x'.repeat(2200) })).post.enabled, true);
  const long = evaluate(state({ title: 'x'.repeat(2201) }));
  assert.equal(long.post.enabled, false);
  assert.equal(
    long.post.reason,
    'The title is 2201 characters long; TikTok takes at most 2200 for a video (an emoji counts as 2).',
  );
  const photos = { media: 'photos', duration: null };
  assert.equal(evaluate(state({ ...photos, title: 'x'.repeat(90) })).post.enabled, true);
  const over = evaluate(state({ ...photos, title: '😀'.repeat(45) + 'x' }));
  assert.equal(over.post.enabled, false, '45 emoji and a letter are 91 units');
  assert.match(over.post.reason, /^The title is 91 characters long; TikTok takes at most 90 for a photo post/);
  assert.deepEqual(over.titleCount, { text: '91 / 90', over: true, length: 91, limit: 90 });
});

test('a photo description takes 4000 units', () => {
  const photos = { media: 'photos', duration: null };
  assert.equal(evaluate(state({ ...photos, description: 'x'.repeat(4000) })).post.enabled, true);
  const over = evaluate(state({ ...photos, description: 'x'.repeat(4001) }));
  assert.equal(over.post.enabled, false);
  assert.match(over.post.reason, /^The description is 4001 characters long; TikTok takes at most 4000/);
  assert.equal(evaluate(state()).fields.description, false, 'a video has no description');
});

// ------------------------------------------------------------ draft

test('a video draft takes no title and no settings, and needs no privacy', () => {
  const view = evaluate(state({ mode: 'draft', privacy: '', title: 'x'.repeat(3000) }));
  assert.deepEqual(view.fields, {
    title: false,
    description: false,
    privacy: false,
    interactions: false,
    disclosure: false,
    schedule: false,
  });
  assert.deepEqual(shownInteractions(view), []);
  assert.equal(view.post.enabled, true, 'a hidden title is not sent, so its length does not count');
  assert.equal(view.buttonLabel, 'Send to TikTok inbox');
});

test('a photo draft keeps its title and description, within their limits', () => {
  const view = evaluate(state({ mode: 'draft', media: 'photos', duration: null, privacy: '' }));
  assert.equal(view.fields.title, true);
  assert.equal(view.fields.description, true);
  assert.equal(view.fields.privacy, false);
  assert.equal(view.post.enabled, true);
  const long = evaluate(state({ mode: 'draft', media: 'photos', duration: null, title: 'x'.repeat(91) }));
  assert.equal(long.post.enabled, false);
});

test('a draft ignores the disclosure switch: no label, music-only declaration', () => {
  const view = evaluate(state({ mode: 'draft', disclose: true, brandedContent: true }));
  assert.equal(view.showDisclosureOptions, false);
  assert.equal(view.labelPrompt, null);
  assert.equal(view.disclosureWarning, null);
  assert.equal(view.declaration.text, "By posting, you agree to TikTok's Music Usage Confirmation.");
});

test('a draft is not held to the direct-post duration limit', () => {
  assert.equal(evaluate(state({ duration: 61 })).post.enabled, false);
  assert.equal(evaluate(state({ mode: 'draft', duration: 61 })).post.enabled, true);
});

test('posting now keeps every direct-post rule; an unknown mode is "now"', () => {
  const view = evaluate(state({ mode: 'sideways', privacy: '' }));
  assert.equal(view.mode, 'now');
  assert.equal(view.buttonLabel, 'Post');
  assert.equal(view.post.reason, 'Choose who can see this post.');
  assert.deepEqual(shownInteractions(view), ['comment', 'duet', 'stitch']);
});

// ------------------------------------------------------------ schedule

test('a scheduled post needs a time, at most 300 days ahead', () => {
  const none = evaluate(state({ mode: 'schedule' }));
  assert.equal(none.post.enabled, false);
  assert.equal(none.post.reason, 'Choose when to post.');
  assert.equal(none.buttonLabel, 'Schedule post');
  assert.equal(none.fields.schedule, true);
  assert.equal(none.fields.privacy, true, 'a scheduled post is a direct post');

  const tomorrow = evaluate(state({ mode: 'schedule', scheduleAt: NOW + DAY }));
  assert.equal(tomorrow.post.enabled, true);
  assert.equal(tomorrow.schedule.publishAt, '2026-12-08T12:00:00Z');

  assert.equal(evaluate(state({ mode: 'schedule', scheduleAt: NOW + 300 * DAY })).post.enabled, true);
  const far = evaluate(state({ mode: 'schedule', scheduleAt: NOW + 300 * DAY + 60_000 }));
  assert.equal(far.post.enabled, false);
  assert.equal(far.post.reason, 'Choose a time at most 300 days ahead.');
});

test('a scheduled post still needs its privacy and the rest', () => {
  const view = evaluate(state({ mode: 'schedule', scheduleAt: NOW + DAY, privacy: '' }));
  assert.deepEqual(view.post.reasons, ['Choose who can see this post.']);
});

test('scheduleVerdict: a past time posts at once, as the posts API does', () => {
  assert.deepEqual(scheduleVerdict(NOW - 60_000, NOW), {
    ok: true,
    message: 'That time has passed: the post goes out as soon as you press the button.',
    publishAt: '2026-12-07T11:59:00Z',
  });
  assert.deepEqual(scheduleVerdict(NaN, NOW), { ok: false, message: 'Choose when to post.', publishAt: null });
  assert.deepEqual(scheduleVerdict(NOW + 90_000, NOW), {
    ok: true,
    message: null,
    publishAt: '2026-12-07T12:01:30Z',
  });
});
