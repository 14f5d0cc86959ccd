use serde_json::json;

use super::{FormRefusal, PostForm, name_fields_as_the_form};

const ACCOUNT: &str = "open-1";
const VIDEO: &str = "uploads/open-1/.console/r1/a.mp4";
const PHOTO_1: &str = "uploads/open-1/.console/r2/1.jpg";
const PHOTO_2: &str = "uploads/open-1/.console/r3/2.png";

/// The form as the page sends it (urlencoded, repeated `images`).
fn form(body: &str) -> PostForm {
    PostForm::from_urlencoded(body.as_bytes())
}

fn ours(account: &str, key: &str) -> bool {
    account == ACCOUNT && key.starts_with("uploads/open-1/.console/")
}

fn request(body: &str) -> Result<serde_json::Value, FormRefusal> {
    form(body).create_request(ours)
}

fn refused_field(body: &str) -> &'static str {
    match request(body) {
        Ok(request) => panic!("{body} was accepted as {request}"),
        Err(refusal) => refusal.field,
    }
}

fn video(extra: &str) -> String {
    format!("account={ACCOUNT}&media=video&key={VIDEO}{extra}")
}

fn photos(extra: &str) -> String {
    format!("account={ACCOUNT}&media=photos&images={PHOTO_1}&images={PHOTO_2}{extra}")
}

#[test]
fn a_video_posted_now_maps_to_a_direct_post() {
    let request = request(&video(
        "&mode=now&title=Hi&privacy_level=SELF_ONLY&allow_comment=true",
    ))
    .unwrap();
    assert_eq!(
        request,
        json!({
            "account": ACCOUNT,
            "key": VIDEO,
            "options": {
                "title": "Hi", "privacy_level": "SELF_ONLY", "allow_comment": true,
                "allow_duet": false, "allow_stitch": false,
                "brand_organic_toggle": false, "brand_content_toggle": false,
            },
        })
    );
}

#[test]
fn a_scheduled_post_carries_publish_at() {
    let request = request(&video(
        "&mode=schedule&publish_at=2026-12-08T18:00:00Z&privacy_level=SELF_ONLY",
    ))
    .unwrap();
    assert_eq!(request["options"]["publish_at"], "2026-12-08T18:00:00Z");
    assert_eq!(request["options"]["privacy_level"], "SELF_ONLY");
    assert_eq!(
        refused_field(&video("&mode=schedule&privacy_level=SELF_ONLY")),
        "publish_at",
        "a scheduled post without its time"
    );
    assert_eq!(
        refused_field(&video(
            "&mode=now&publish_at=2026-12-08T18:00:00Z&privacy_level=SELF_ONLY"
        )),
        "publish_at",
        "a time on a post meant for now"
    );
    assert_eq!(
        refused_field(&video("&mode=schedule&publish_at=2026-12-08T18:00:00Z")),
        "privacy_level",
        "a scheduled post is a direct post: its privacy is chosen"
    );
}

#[test]
fn a_video_draft_sends_only_the_mode() {
    let request = request(&video("&mode=draft")).unwrap();
    assert_eq!(
        request,
        json!({"account": ACCOUNT, "key": VIDEO, "options": {"mode": "draft"}})
    );
    for (extra, field) in [
        ("&title=Hi", "title"),
        ("&privacy_level=SELF_ONLY", "privacy_level"),
        ("&allow_comment=true", "allow_comment"),
        ("&allow_duet=true", "allow_duet"),
        ("&disclose=true&brand_organic_toggle=true", "disclose"),
        ("&publish_at=2026-12-08T18:00:00Z", "publish_at"),
    ] {
        assert_eq!(refused_field(&video(&format!("&mode=draft{extra}"))), field);
    }
}

#[test]
fn a_photo_carousel_keeps_its_order_and_has_comment_only() {
    let request = request(&photos(
        "&mode=now&title=T&description=D&privacy_level=PUBLIC_TO_EVERYONE&allow_comment=true",
    ))
    .unwrap();
    assert_eq!(request["images"], json!([PHOTO_1, PHOTO_2]));
    assert!(request.get("key").is_none());
    assert_eq!(
        request["options"],
        json!({
            "title": "T", "description": "D", "privacy_level": "PUBLIC_TO_EVERYONE",
            "allow_comment": true, "brand_organic_toggle": false, "brand_content_toggle": false,
        })
    );
    assert_eq!(
        refused_field(&photos("&privacy_level=SELF_ONLY&allow_duet=true")),
        "allow_duet"
    );
    assert_eq!(
        refused_field(&photos("&privacy_level=SELF_ONLY&allow_stitch=true")),
        "allow_stitch"
    );
}

#[test]
fn a_photo_draft_keeps_its_title_and_description() {
    let request = request(&photos("&mode=draft&title=T&description=D")).unwrap();
    assert_eq!(
        request["options"],
        json!({"mode": "draft", "title": "T", "description": "D"})
    );
    assert_eq!(
        refused_field(&photos("&mode=draft&privacy_level=SELF_ONLY")),
        "privacy_level"
    );
}

#[test]
fn texts_are_measured_as_tiktok_counts_them() {
    // 45 emoji are 90 UTF-16 units: a photo title's whole allowance.
    let emoji = "%F0%9F%98%80".repeat(45);
    assert!(request(&photos(&format!("&title={emoji}&privacy_level=SELF_ONLY"))).is_ok());
    assert_eq!(
        refused_field(&photos(&format!("&title={emoji}x&privacy_level=SELF_ONLY"))),
        "title"
    );
    let long = "x".repeat(2201);
    assert_eq!(
        refused_field(&video(&format!("&title={long}&privacy_level=SELF_ONLY"))),
        "title"
    );
    assert!(
        request(&video(&format!(
            "&title={}&privacy_level=SELF_ONLY",
            &long[1..]
        )))
        .is_ok()
    );
    let description = "x".repeat(4001);
    assert_eq!(
        refused_field(&photos(&format!(
            "&description={description}&privacy_level=SELF_ONLY"
        ))),
        "description"
    );
    assert_eq!(
        refused_field(&video("&description=D&privacy_level=SELF_ONLY")),
        "description",
        "a video has no description"
    );
}

#[test]
fn the_guidelines_hold_on_the_server_too() {
    assert_eq!(refused_field(&video("")), "privacy_level");
    assert_eq!(
        refused_field(&video("&privacy_level=SELF_ONLY&disclose=true")),
        "disclose"
    );
    let branded = request(&video(
        "&privacy_level=PUBLIC_TO_EVERYONE&disclose=true&brand_content_toggle=true",
    ))
    .unwrap();
    assert_eq!(branded["options"]["brand_content_toggle"], true);
    // Boxes ticked with the switch off count for nothing, as on the page.
    let switch_off = request(&video("&privacy_level=SELF_ONLY&brand_content_toggle=true")).unwrap();
    assert_eq!(switch_off["options"]["brand_content_toggle"], false);
}

#[test]
fn uploads_and_modes_are_checked() {
    assert_eq!(
        refused_field(&format!(
            "account={ACCOUNT}&media=video&privacy_level=SELF_ONLY"
        )),
        "key"
    );
    assert_eq!(
        refused_field(&format!(
            "account={ACCOUNT}&media=video&key=uploads/other/x.mp4&privacy_level=SELF_ONLY"
        )),
        "key"
    );
    assert_eq!(
        refused_field(&format!(
            "account={ACCOUNT}&media=photos&privacy_level=SELF_ONLY"
        )),
        "images"
    );
    assert_eq!(
        refused_field(&photos(
            "&images=uploads/open-2/x.jpg&privacy_level=SELF_ONLY"
        )),
        "images"
    );
    let many: String = (0..36)
        .map(|i| format!("&images=uploads/open-1/.console/r{i}/p.jpg"))
        .collect();
    assert_eq!(
        refused_field(&format!(
            "account={ACCOUNT}&media=photos{many}&privacy_level=SELF_ONLY"
        )),
        "images"
    );
    assert_eq!(
        refused_field(&video("&mode=story&privacy_level=SELF_ONLY")),
        "mode"
    );
    assert_eq!(
        refused_field(&format!("account={ACCOUNT}&media=gif&key={VIDEO}")),
        "media"
    );
}

#[test]
fn the_apis_option_fields_are_named_as_the_forms() {
    let mut body = json!({"error": {"code": "invalid_options", "message": "m", "field": "options.publish_at"}});
    name_fields_as_the_form(&mut body);
    assert_eq!(body["error"]["field"], "publish_at");
    // Fields outside the options (and answers without one) stay as they are.
    let mut body =
        json!({"error": {"code": "image_not_found", "message": "m", "field": "images[1]"}});
    name_fields_as_the_form(&mut body);
    assert_eq!(body["error"]["field"], "images[1]");
    let mut body = json!({"id": "p1"});
    name_fields_as_the_form(&mut body);
    assert_eq!(body, json!({"id": "p1"}));
}
