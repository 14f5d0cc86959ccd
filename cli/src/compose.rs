//! The post's settings, decided the way TikTok's Direct Post rules want a posting screen to
//! (reference section 6): the account's nickname from a fresh creator_info, only the privacy
//! levels it offers and none preselected, the creator's disabled switches greyed out and
//! refused, comment/duet/stitch off unless turned on, the commercial content disclosure
//! (branded content never `SELF_ONLY`), TikTok's declaration and an explicit yes.
//!
//! At a terminal the questions the flags left open are asked through a [`Prompter`]; without
//! one, the flags answer everything and anything the creator does not allow is refused naming
//! the flag to change. [`decide`] holds the rules; the prompts are behind the trait so tests
//! script the answers.

use std::io;

use serde_json::{Map, Value, json};
use tiktok_publish_core::tiktok::PrivacyLevel;

use crate::api::CreatorInfoView;
use crate::options::PostFlags;

/// Asks the person at the keyboard. No question has a preselected answer.
pub trait Prompter {
    /// Shows a line of information.
    fn say(&mut self, text: &str);
    /// Free text (the caption), which may be left empty.
    fn input(&mut self, prompt: &str) -> io::Result<String>;
    /// One of `items`, none preselected: the index chosen.
    fn select(&mut self, prompt: &str, items: &[String]) -> io::Result<usize>;
    /// Yes or no, with no default: the person must answer.
    fn confirm(&mut self, prompt: &str) -> io::Result<bool>;
}

/// [`Prompter`] on the terminal (stderr), with dialoguer.
pub struct TerminalPrompter;

impl Prompter for TerminalPrompter {
    fn say(&mut self, text: &str) {
        eprintln!("{text}");
    }

    fn input(&mut self, prompt: &str) -> io::Result<String> {
        dialoguer::Input::<String>::new()
            .with_prompt(prompt)
            .allow_empty(true)
            .interact_text()
            .map_err(io::Error::other)
    }

    fn select(&mut self, prompt: &str, items: &[String]) -> io::Result<usize> {
        // No `.default(..)`: dialoguer then starts with nothing selected and Enter does
        // nothing until the person moves to a choice.
        dialoguer::Select::new()
            .with_prompt(prompt)
            .items(items)
            .interact()
            .map_err(io::Error::other)
    }

    fn confirm(&mut self, prompt: &str) -> io::Result<bool> {
        dialoguer::Confirm::new()
            .with_prompt(prompt)
            .wait_for_newline(true)
            .interact()
            .map_err(io::Error::other)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(
        "TikTok offers {name} no privacy level it can post with now (offered: {offered:?}): they cannot post at the moment; check the account in the TikTok app"
    )]
    NothingOffered { name: String, offered: Vec<String> },
    #[error(
        "--privacy {level} is not offered to {name} now: use one of {} (--privacy LEVEL)",
        .offered.join(", ")
    )]
    PrivacyNotOffered {
        level: String,
        name: String,
        offered: Vec<String>,
    },
    #[error(
        "branded content cannot be private (SELF_ONLY), and {name} may only post SELF_ONLY now: drop --brand-content, or change the account's settings in TikTok"
    )]
    BrandedNeedsAudience { name: String },
    #[error("{name} has turned {what} off in TikTok: drop {flag} (the post will have {what} off)")]
    SwitchDisabled {
        name: String,
        what: &'static str,
        flag: &'static str,
    },
    #[error(
        "the video is {secs:.0} s long; {name} may post at most {max} s: trim it and post again"
    )]
    TooLong { name: String, secs: f64, max: u32 },
    #[error("not posted: you did not agree")]
    Declined,
    #[error(
        "cannot read your answer ({0}); answer with flags and --yes instead (`tiktok-publish post --help`)"
    )]
    Prompt(#[from] io::Error),
}

/// TikTok's declaration shown before posting (Direct Post UX rules).
pub fn declaration(branded_content: bool) -> &'static str {
    if branded_content {
        "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation."
    } else {
        "By posting, you agree to TikTok's Music Usage Confirmation."
    }
}

/// One interaction switch (comments, duets, stitches).
struct Switch {
    what: &'static str,
    option: &'static str,
    allow_flag: &'static str,
    question: &'static str,
    creator_disabled: bool,
    allow: bool,
    disable: bool,
}

/// The `options` of `POST /posts`, decided from the flags, the creator's settings and (with a
/// `prompter`) the person's answers. `video_secs` is the video's length when it could be read.
pub fn decide(
    flags: &PostFlags,
    creator: &CreatorInfoView,
    video_secs: Option<f64>,
    mut prompter: Option<&mut dyn Prompter>,
) -> Result<Value, ComposeError> {
    let name = creator.display_name();
    let mut options = Map::new();
    if let Some(at) = &flags.at {
        options.insert("publish_at".into(), json!(at));
    }
    if let Some(source) = &flags.source {
        options.insert("source".into(), json!(source));
    }

    if flags.draft {
        say(
            &mut prompter,
            &format!(
                "Sending to {name}'s TikTok inbox as a draft: they finish the post (caption, privacy) in the TikTok app."
            ),
        );
        if let Some(p) = prompter.as_deref_mut()
            && !p.confirm("Send it?")?
        {
            return Err(ComposeError::Declined);
        }
        options.insert("mode".into(), json!("draft"));
        return Ok(Value::Object(options));
    }

    say(&mut prompter, &format!("Posting to {name}"));
    let max = creator.max_video_post_duration_sec;
    if let Some(secs) = video_secs
        && max > 0
        && secs > f64::from(max)
    {
        return Err(ComposeError::TooLong { name, secs, max });
    }

    // Caption: the flag, else asked (it may stay empty).
    let caption = match (&flags.caption, prompter.as_deref_mut()) {
        (Some(caption), _) => caption.clone(),
        (None, Some(p)) => p.input("Caption (#hashtags and @mentions welcome; empty for none)")?,
        (None, None) => String::new(),
    };

    // Commercial content disclosure: off unless turned on; at least one kind once on.
    let (mut brand_organic, mut brand_content) = (flags.brand_organic, flags.brand_content);
    if !brand_organic
        && !brand_content
        && let Some(p) = prompter.as_deref_mut()
    {
        while p.confirm(
            "Disclose commercial content? (this video promotes a brand, a product or a service)",
        )? {
            brand_organic =
                p.confirm("  Your brand: you are promoting yourself or your own business?")?;
            brand_content =
                p.confirm("  Branded content: you are promoting another brand or a third party?")?;
            if brand_organic || brand_content {
                break;
            }
            p.say("  Choose at least one of the two, or answer no to the disclosure.");
        }
    }
    if brand_content {
        say(
            &mut prompter,
            "Your video will be labeled \"Paid partnership\".",
        );
    } else if brand_organic {
        say(
            &mut prompter,
            "Your video will be labeled \"Promotional content\".",
        );
    }

    // Privacy: only what the creator offers now, and no default.
    let offered: Vec<PrivacyLevel> = creator
        .privacy_level_options
        .iter()
        .filter_map(|level| PrivacyLevel::parse(level))
        .collect();
    let allowed: Vec<PrivacyLevel> = offered
        .iter()
        .copied()
        .filter(|level| !(brand_content && *level == PrivacyLevel::SelfOnly))
        .collect();
    let privacy = match &flags.privacy {
        Some(level) => match PrivacyLevel::parse(level) {
            Some(level) if offered.contains(&level) => level,
            _ => {
                return Err(ComposeError::PrivacyNotOffered {
                    level: level.clone(),
                    name,
                    offered: creator.privacy_level_options.clone(),
                });
            }
        },
        None => {
            if offered.is_empty() {
                return Err(ComposeError::NothingOffered {
                    name,
                    offered: creator.privacy_level_options.clone(),
                });
            }
            if allowed.is_empty() {
                return Err(ComposeError::BrandedNeedsAudience { name });
            }
            let Some(p) = prompter.as_deref_mut() else {
                // The options parser requires --privacy for a direct post before we get here.
                return Err(ComposeError::PrivacyNotOffered {
                    level: String::new(),
                    name,
                    offered: creator.privacy_level_options.clone(),
                });
            };
            if allowed.len() < offered.len() {
                p.say("  (SELF_ONLY is unavailable: branded content cannot be private)");
            }
            let items: Vec<String> = allowed.iter().map(|l| privacy_label(*l)).collect();
            allowed[p.select("Who can watch this video?", &items)?]
        }
    };
    if brand_content && privacy == PrivacyLevel::SelfOnly {
        return Err(ComposeError::BrandedNeedsAudience { name });
    }

    // Interaction switches: off by default, unavailable where the creator turned them off.
    let switches = [
        Switch {
            what: "comments",
            option: "disable_comment",
            allow_flag: "--allow-comment",
            question: "Allow comments?",
            creator_disabled: creator.comment_disabled,
            allow: flags.allow_comment,
            disable: flags.disable_comment,
        },
        Switch {
            what: "duets",
            option: "disable_duet",
            allow_flag: "--allow-duet",
            question: "Allow duets?",
            creator_disabled: creator.duet_disabled,
            allow: flags.allow_duet,
            disable: flags.disable_duet,
        },
        Switch {
            what: "stitches",
            option: "disable_stitch",
            allow_flag: "--allow-stitch",
            question: "Allow stitches?",
            creator_disabled: creator.stitch_disabled,
            allow: flags.allow_stitch,
            disable: flags.disable_stitch,
        },
    ];
    let mut disabled = Vec::new();
    for switch in &switches {
        let disable = if switch.creator_disabled {
            if switch.allow {
                return Err(ComposeError::SwitchDisabled {
                    name,
                    what: switch.what,
                    flag: switch.allow_flag,
                });
            }
            say(
                &mut prompter,
                &format!(
                    "  {}: unavailable ({name} turned them off in TikTok)",
                    capitalised(switch.what)
                ),
            );
            true
        } else if switch.allow || switch.disable {
            switch.disable
        } else {
            match prompter.as_deref_mut() {
                Some(p) => !p.confirm(switch.question)?,
                None => true,
            }
        };
        disabled.push((switch, disable));
    }

    options.insert("title".into(), json!(caption));
    options.insert("privacy_level".into(), json!(privacy.as_str()));
    for (switch, disable) in &disabled {
        options.insert(switch.option.into(), json!(disable));
    }
    if brand_organic {
        options.insert("brand_organic_toggle".into(), json!(true));
    }
    if brand_content {
        options.insert("brand_content_toggle".into(), json!(true));
    }
    if flags.aigc {
        options.insert("is_aigc".into(), json!(true));
    }
    if let Some(ms) = flags.cover_ms {
        options.insert("video_cover_timestamp_ms".into(), json!(ms));
    }

    // The preview, TikTok's declaration and the explicit yes.
    let on_off = |disable: bool| if disable { "off" } else { "on" };
    let mut preview = vec![
        format!("  account   {name}"),
        format!(
            "  caption   {}",
            if caption.is_empty() {
                "(none)"
            } else {
                &caption
            }
        ),
        format!("  privacy   {}", privacy_label(privacy)),
        format!(
            "  comments {} · duets {} · stitches {}",
            on_off(disabled[0].1),
            on_off(disabled[1].1),
            on_off(disabled[2].1)
        ),
    ];
    if brand_organic || brand_content {
        let mut kinds = Vec::new();
        if brand_organic {
            kinds.push("your brand");
        }
        if brand_content {
            kinds.push("branded content");
        }
        preview.push(format!("  disclosure {}", kinds.join(" + ")));
    }
    if let Some(at) = &flags.at {
        preview.push(format!("  publish   at {at}"));
    }
    for line in &preview {
        say(&mut prompter, line);
    }
    say(&mut prompter, declaration(brand_content));
    if let Some(p) = prompter
        && !p.confirm(&format!("Post this video to {name}?"))?
    {
        return Err(ComposeError::Declined);
    }
    Ok(Value::Object(options))
}

/// Shows a line on the prompter, or on stderr without one (scripts still see the preview).
fn say(prompter: &mut Option<&mut dyn Prompter>, text: &str) {
    match prompter {
        Some(p) => p.say(text),
        None => eprintln!("{text}"),
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// How a privacy level reads in a menu.
pub fn privacy_label(level: PrivacyLevel) -> String {
    let words = match level {
        PrivacyLevel::PublicToEveryone => "Everyone",
        PrivacyLevel::MutualFollowFriends => "Friends (followers you follow back)",
        PrivacyLevel::FollowerOfCreator => "Followers",
        PrivacyLevel::SelfOnly => "Only me",
    };
    format!("{words} ({})", level.as_str())
}

#[cfg(test)]
mod tests {
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
}
