//! The post's settings (a video's or a photo post's), decided the way TikTok's Direct Post
//! rules want a posting screen to
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

/// What is posted: it decides the questions. TikTok's Photo Post page gives a photo post
/// a title (at most 90 UTF-16 units) and a description, and comments as its only
/// interaction switch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Media {
    /// A video, and its length when it could be read.
    Video { secs: Option<f64> },
    /// A photo post of `count` photos.
    Photos { count: usize },
}

impl Media {
    /// The last question, the explicit yes.
    fn post_question(self, name: &str) -> String {
        match self {
            Media::Video { .. } => format!("Post this video to {name}?"),
            Media::Photos { count: 1 } => format!("Post this photo to {name}?"),
            Media::Photos { count } => format!("Post these {count} photos to {name}?"),
        }
    }
}

/// The `options` of `POST /posts`, decided from the flags, the creator's settings and (with a
/// `prompter`) the person's answers. `video_secs` is the video's length when it could be read.
pub fn decide(
    flags: &PostFlags,
    creator: &CreatorInfoView,
    video_secs: Option<f64>,
    prompter: Option<&mut dyn Prompter>,
) -> Result<Value, ComposeError> {
    decide_for(flags, creator, Media::Video { secs: video_secs }, prompter)
}

/// As [`decide`], for a video or a photo post.
pub fn decide_for(
    flags: &PostFlags,
    creator: &CreatorInfoView,
    media: Media,
    mut prompter: Option<&mut dyn Prompter>,
) -> Result<Value, ComposeError> {
    let name = creator.display_name();
    let photos = matches!(media, Media::Photos { .. });

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
        // A photo draft keeps its title and description (TikTok takes them with
        // MEDIA_UPLOAD); a video draft takes none.
        if photos {
            if let Some(caption) = &flags.caption {
                options.insert("title".into(), json!(caption));
            }
            if let Some(description) = &flags.description {
                options.insert("description".into(), json!(description));
            }
            if let Some(index) = flags.cover_index {
                options.insert("photo_cover_index".into(), json!(index));
            }
        }
        return Ok(Value::Object(options));
    }

    say(&mut prompter, &format!("Posting to {name}"));
    let max = creator.max_video_post_duration_sec;
    if let Media::Video { secs: Some(secs) } = media
        && max > 0
        && secs > f64::from(max)
    {
        return Err(ComposeError::TooLong { name, secs, max });
    }

    // Caption: the flag, else asked (it may stay empty). A photo post's title is short, and
    // its description carries the text.
    let caption_question = if photos {
        "Title (at most 90 characters; empty for none)"
    } else {
        "Caption (#hashtags and @mentions welcome; empty for none)"
    };
    let caption = match (&flags.caption, prompter.as_deref_mut()) {
        (Some(caption), _) => caption.clone(),
        (None, Some(p)) => p.input(caption_question)?,
        (None, None) => String::new(),
    };
    let description = match (&flags.description, prompter.as_deref_mut()) {
        _ if !photos => None,
        (Some(description), _) => Some(description.clone()),
        (None, Some(p)) => {
            Some(p.input("Description (#hashtags and @mentions welcome; empty for none)")?)
        }
        (None, None) => None,
    };

    // Commercial content disclosure: off unless turned on; at least one kind once on.
    let (mut brand_organic, mut brand_content) = (flags.brand_organic, flags.brand_content);
    if !brand_organic
        && !brand_content
        && let Some(p) = prompter.as_deref_mut()
    {
        while p.confirm(&format!(
            "Disclose commercial content? (this {} promotes a brand, a product or a service)",
            if photos { "post" } else { "video" }
        ))? {
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
            &format!(
                "Your {} will be labeled \"Paid partnership\".",
                if photos { "post" } else { "video" }
            ),
        );
    } else if brand_organic {
        say(
            &mut prompter,
            &format!(
                "Your {} will be labeled \"Promotional content\".",
                if photos { "post" } else { "video" }
            ),
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
            let question = if photos {
                "Who can see this post?"
            } else {
                "Who can watch this video?"
            };
            allowed[p.select(question, &items)?]
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
    // A photo post has comments only.
    let switches = if photos {
        &switches[..1]
    } else {
        &switches[..]
    };
    let mut disabled = Vec::new();
    for switch in switches {
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
    if let Some(description) = &description {
        options.insert("description".into(), json!(description));
    }
    if flags.auto_add_music {
        options.insert("auto_add_music".into(), json!(true));
    }
    if let Some(index) = flags.cover_index {
        options.insert("photo_cover_index".into(), json!(index));
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
        match disabled.as_slice() {
            [(_, comments), (_, duets), (_, stitches)] => format!(
                "  comments {} · duets {} · stitches {}",
                on_off(*comments),
                on_off(*duets),
                on_off(*stitches)
            ),
            _ => format!(
                "  comments {}",
                on_off(disabled.first().is_none_or(|(_, d)| *d))
            ),
        },
    ];
    if let Some(description) = description.as_deref().filter(|d| !d.is_empty()) {
        preview.push(format!("  description {description}"));
    }
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
        && !p.confirm(&media.post_question(&name))?
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
mod tests;
