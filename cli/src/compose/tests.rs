use std::collections::VecDeque;

use super::*;

/// Answers from a script, recording every question and line shown.
#[derive(Default)]
struct Scripted {
    confirms: VecDeque<bool>,
    selects: VecDeque<usize>,
    inputs: VecDeque<String>,
    shown: Vec<String>,
    menus: Vec<Vec<String>>,
}

impl Scripted {
    fn new(confirms: &[bool], selects: &[usize], inputs: &[&str]) -> Scripted {
        Scripted {
            confirms: confirms.iter().copied().collect(),
            selects: selects.iter().copied().collect(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            ..Scripted::default()
        }
    }

    fn all_answered(&self) -> bool {
        self.confirms.is_empty() && self.selects.is_empty() && self.inputs.is_empty()
    }
}

impl Prompter for Scripted {
    fn say(&mut self, text: &str) {
        self.shown.push(text.to_owned());
    }
    fn input(&mut self, prompt: &str) -> io::Result<String> {
        self.shown.push(format!("? {prompt}"));
        self.inputs
            .pop_front()
            .ok_or_else(|| io::Error::other(format!("unscripted input: {prompt}")))
    }
    fn select(&mut self, prompt: &str, items: &[String]) -> io::Result<usize> {
        self.shown.push(format!("? {prompt}"));
        self.menus.push(items.to_vec());
        self.selects
            .pop_front()
            .ok_or_else(|| io::Error::other(format!("unscripted select: {prompt}")))
    }
    fn confirm(&mut self, prompt: &str) -> io::Result<bool> {
        self.shown.push(format!("? {prompt}"));
        self.confirms
            .pop_front()
            .ok_or_else(|| io::Error::other(format!("unscripted confirm: {prompt}")))
    }
}

fn creator(levels: &[&str]) -> CreatorInfoView {
    CreatorInfoView {
        open_id: "o".into(),
        nickname: "Ann".into(),
        username: "ann".into(),
        avatar_url: String::new(),
        privacy_level_options: levels.iter().map(|s| s.to_string()).collect(),
        comment_disabled: false,
        duet_disabled: false,
        stitch_disabled: false,
        max_video_post_duration_sec: 600,
    }
}

const ALL: [&str; 4] = [
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
];

#[test]
fn at_a_terminal_every_open_question_is_asked_and_answered() {
    let mut p = Scripted::new(
        // disclosure no; comments yes, duets no, stitches yes; post yes
        &[false, true, false, true, true],
        &[2],
        &["my clip #cats"],
    );
    let options = decide(
        &PostFlags::default(),
        &creator(&ALL),
        Some(30.0),
        Some(&mut p),
    )
    .unwrap();
    assert!(p.all_answered());
    assert_eq!(
        options,
        json!({"title": "my clip #cats", "privacy_level": "FOLLOWER_OF_CREATOR",
               "disable_comment": false, "disable_duet": true, "disable_stitch": false})
    );
    assert_eq!(p.shown[0], "Posting to Ann (@ann)");
    // Every offered level, in TikTok's order; none preselected (the script picked).
    assert_eq!(p.menus[0].len(), 4);
    assert!(
        p.shown
            .iter()
            .any(|l| l.contains("Music Usage Confirmation"))
    );
    assert!(!p.shown.iter().any(|l| l.contains("Branded Content Policy")));
    assert_eq!(p.shown.last().unwrap(), "? Post this video to Ann (@ann)?");
}

#[test]
fn only_the_offered_levels_are_listed_and_a_flag_must_be_one_of_them() {
    let private = creator(&["FOLLOWER_OF_CREATOR", "SELF_ONLY"]);
    let mut p = Scripted::new(&[false, false, false, false, true], &[1], &[""]);
    let options = decide(&PostFlags::default(), &private, None, Some(&mut p)).unwrap();
    assert_eq!(options["privacy_level"], "SELF_ONLY");
    assert_eq!(
        p.menus[0],
        vec![
            "Followers (FOLLOWER_OF_CREATOR)".to_owned(),
            "Only me (SELF_ONLY)".to_owned()
        ]
    );

    let flags = PostFlags {
        privacy: Some("PUBLIC_TO_EVERYONE".into()),
        ..PostFlags::default()
    };
    let err = decide(&flags, &private, None, None).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("--privacy PUBLIC_TO_EVERYONE is not offered to Ann")
            && text.contains("FOLLOWER_OF_CREATOR, SELF_ONLY"),
        "{text}"
    );
}

#[test]
fn switches_the_creator_turned_off_are_unavailable_and_refused_by_flag() {
    let mut quiet = creator(&ALL);
    quiet.comment_disabled = true;
    quiet.stitch_disabled = true;
    // Only duets are asked about.
    let flags = PostFlags {
        privacy: Some("SELF_ONLY".into()),
        caption: Some("hi".into()),
        ..PostFlags::default()
    };
    let mut p = Scripted::new(&[false, true, true], &[], &[]);
    let options = decide(&flags, &quiet, None, Some(&mut p)).unwrap();
    assert!(p.all_answered());
    assert_eq!(options["disable_comment"], true);
    assert_eq!(options["disable_duet"], false);
    assert_eq!(options["disable_stitch"], true);
    assert!(!p.shown.iter().any(|l| l == "? Allow comments?"));
    assert!(
        p.shown
            .iter()
            .any(|l| l.contains("Comments: unavailable (Ann (@ann) turned them off"))
    );

    let asking = PostFlags {
        allow_comment: true,
        ..flags
    };
    let err = decide(&asking, &quiet, None, None).unwrap_err();
    assert!(err.to_string().contains("drop --allow-comment"), "{err}");
}

#[test]
fn without_a_terminal_the_flags_answer_and_switches_stay_off_unless_allowed() {
    let flags = PostFlags {
        privacy: Some("PUBLIC_TO_EVERYONE".into()),
        allow_duet: true,
        disable_stitch: true,
        brand_organic: true,
        aigc: true,
        cover_ms: Some(500),
        at: Some("2026-12-01T18:00:00Z".into()),
        ..PostFlags::default()
    };
    let options = decide(&flags, &creator(&ALL), None, None).unwrap();
    assert_eq!(
        options,
        json!({"title": "", "privacy_level": "PUBLIC_TO_EVERYONE", "disable_comment": true,
               "disable_duet": false, "disable_stitch": true, "brand_organic_toggle": true,
               "is_aigc": true, "video_cover_timestamp_ms": 500,
               "publish_at": "2026-12-01T18:00:00Z"})
    );
}

#[test]
fn branded_content_hides_self_only_and_names_its_policy() {
    // disclosure yes, your brand no, branded yes; switches no x3; post yes
    let mut p = Scripted::new(
        &[true, false, true, false, false, false, true],
        &[0],
        &["ad"],
    );
    let options = decide(&PostFlags::default(), &creator(&ALL), None, Some(&mut p)).unwrap();
    assert_eq!(options["brand_content_toggle"], true);
    assert!(!p.menus[0].iter().any(|l| l.contains("SELF_ONLY")));
    assert!(p.shown.iter().any(|l| l.contains("Paid partnership")));
    assert!(p.shown.iter().any(|l| l.contains("Branded Content Policy")));

    let mut p = Scripted::new(&[true, false, true], &[], &[""]);
    let err = decide(
        &PostFlags::default(),
        &creator(&["SELF_ONLY"]),
        None,
        Some(&mut p),
    )
    .unwrap_err();
    assert!(
        matches!(err, ComposeError::BrandedNeedsAudience { .. }),
        "{err}"
    );
}

#[test]
fn a_disclosure_needs_one_kind_or_a_no() {
    // yes, neither kind; asked again: no. Then switches and post.
    let mut p = Scripted::new(
        &[true, false, false, false, false, false, false, true],
        &[0],
        &[""],
    );
    let options = decide(&PostFlags::default(), &creator(&ALL), None, Some(&mut p)).unwrap();
    assert!(p.all_answered());
    assert!(options.get("brand_organic_toggle").is_none());
    assert!(p.shown.iter().any(|l| l.contains("Choose at least one")));
}

#[test]
fn declining_posts_nothing_and_long_videos_are_refused() {
    let flags = PostFlags {
        privacy: Some("SELF_ONLY".into()),
        caption: Some(String::new()),
        brand_organic: true,
        allow_comment: true,
        allow_duet: true,
        allow_stitch: true,
        ..PostFlags::default()
    };
    let mut p = Scripted::new(&[false], &[], &[]);
    let err = decide(&flags, &creator(&ALL), None, Some(&mut p)).unwrap_err();
    assert!(matches!(err, ComposeError::Declined));

    let err = decide(&flags, &creator(&ALL), Some(601.2), None).unwrap_err();
    assert!(err.to_string().contains("at most 600 s"), "{err}");
}

#[test]
fn creators_with_no_usable_level_cannot_post() {
    let mut p = Scripted::new(&[false], &[], &[""]);
    let err = decide(&PostFlags::default(), &creator(&[]), None, Some(&mut p)).unwrap_err();
    assert!(matches!(err, ComposeError::NothingOffered { .. }), "{err}");
}

#[test]
fn drafts_only_confirm_and_send_no_post_settings() {
    let flags = PostFlags {
        draft: true,
        ..PostFlags::default()
    };
    let mut p = Scripted::new(&[true], &[], &[]);
    let options = decide(&flags, &creator(&ALL), None, Some(&mut p)).unwrap();
    assert_eq!(options, json!({"mode": "draft"}));
    assert!(p.shown[0].contains("inbox as a draft"));
}

#[test]
fn the_source_flag_goes_into_the_options_of_a_post_and_a_draft() {
    for draft in [false, true] {
        let flags = PostFlags {
            draft,
            source: Some("PULL_FROM_URL".into()),
            // A draft takes no privacy level.
            privacy: (!draft).then(|| "SELF_ONLY".into()),
            ..PostFlags::default()
        };
        let options = decide(&flags, &creator(&ALL), None, None).unwrap();
        assert_eq!(options["source"], json!("PULL_FROM_URL"), "{options}");
        assert_eq!(flags.to_json()["source"], json!("PULL_FROM_URL"));
    }
}

#[test]
fn a_photo_post_asks_for_a_title_a_description_and_comments_only() {
    let mut p = Scripted::new(
        // disclosure no; comments yes; post yes
        &[false, true, true],
        &[3],
        &["trip", "three days by the #sea"],
    );
    let flags = PostFlags {
        cover_index: Some(1),
        auto_add_music: true,
        ..PostFlags::default()
    };
    let options = decide_for(
        &flags,
        &creator(&ALL),
        Media::Photos { count: 3 },
        Some(&mut p),
    )
    .unwrap();
    assert!(p.all_answered());
    assert_eq!(
        options,
        json!({"title": "trip", "description": "three days by the #sea",
               "privacy_level": "SELF_ONLY", "disable_comment": false,
               "auto_add_music": true, "photo_cover_index": 1})
    );
    assert!(
        p.shown
            .contains(&"? Title (at most 90 characters; empty for none)".to_owned())
    );
    assert!(
        !p.shown
            .iter()
            .any(|l| l.contains("duet") || l.contains("stitch"))
    );
    assert!(
        p.shown.contains(&"  comments on".to_owned()),
        "{:?}",
        p.shown
    );
    assert_eq!(
        p.shown.last().unwrap(),
        "? Post these 3 photos to Ann (@ann)?"
    );
}

#[test]
fn a_photo_draft_keeps_its_title_and_description() {
    let flags = PostFlags {
        draft: true,
        caption: Some("later".into()),
        description: Some("under it".into()),
        ..PostFlags::default()
    };
    let options = decide_for(&flags, &creator(&ALL), Media::Photos { count: 1 }, None).unwrap();
    assert_eq!(
        options,
        json!({"mode": "draft", "title": "later", "description": "under it"})
    );
}
