use super::*;

fn location(version: Option<&str>) -> VideoLocation {
    VideoLocation {
        bucket: "videos".into(),
        key: "a/b.mp4".into(),
        version_id: version.map(str::to_owned),
    }
}

#[test]
fn post_ids_are_stable_valid_execution_names() {
    let id = PostId::derive("open-1", &location(Some("v1")));
    assert_eq!(id, PostId::derive("open-1", &location(Some("v1"))));
    assert_eq!(id.as_str().len(), 64);
    assert_eq!(PostId::parse(id.as_str()), Ok(id.clone()));
    assert_ne!(id, PostId::derive("open-2", &location(Some("v1"))));
    assert_ne!(id, PostId::derive("open-1", &location(Some("v2"))));
    assert_ne!(
        PostId::derive("open-1", &location(None)),
        PostId::derive("open-1", &location(Some("")))
    );
}

#[test]
fn a_photo_posts_id_is_its_images_in_order_and_never_a_videos() {
    let at = |key: &str, version: &str| VideoLocation {
        bucket: "videos".into(),
        key: key.into(),
        version_id: Some(version.into()),
    };
    let photos = |images: Vec<VideoLocation>| PhotoSet::new(images).unwrap();
    let ab = photos(vec![at("a.jpg", "1"), at("b.jpg", "1")]);
    let id = PostId::derive_photos("open-1", &ab);
    assert_eq!(id, PostId::derive_photos("open-1", &ab.clone()));
    assert_eq!(PostId::parse(id.as_str()), Ok(id.clone()));
    for other in [
        PostId::derive_photos("open-2", &ab),
        PostId::derive_photos("open-1", &photos(vec![at("b.jpg", "1"), at("a.jpg", "1")])),
        PostId::derive_photos("open-1", &photos(vec![at("a.jpg", "2"), at("b.jpg", "1")])),
        PostId::derive_photos("open-1", &photos(vec![at("a.jpg", "1")])),
        PostId::derive("open-1", &at("a.jpg", "1")),
    ] {
        assert_ne!(id, other);
    }
    let record = PostRecord::new_photos("open-1", ab.clone(), None, PostState::Queued, 1);
    assert_eq!(record.id, id);
    assert!(record.is_photo_post());
    assert_eq!(record.source.location, at("a.jpg", "1"));
}

#[test]
fn fields_cannot_slide_into_each_other() {
    let a = VideoLocation {
        bucket: "ab".into(),
        key: "c".into(),
        version_id: None,
    };
    let b = VideoLocation {
        bucket: "a".into(),
        key: "bc".into(),
        version_id: None,
    };
    assert_ne!(PostId::derive("o", &a), PostId::derive("o", &b));
}

#[test]
fn post_id_parse_refuses_what_step_functions_would() {
    for bad in ["", "a b", "a/b", "é", &"a".repeat(81)] {
        assert_eq!(PostId::parse(bad), Err(PostIdError), "{bad:?}");
    }
    assert!(PostId::parse(&"a".repeat(80)).is_ok());
    assert!(serde_json::from_str::<PostId>("\"a/b\"").is_err());
}

#[test]
fn states_round_trip_and_final_ones_are_known() {
    for state in PostState::ALL {
        assert_eq!(PostState::parse(state.as_str()), Some(state));
        assert_eq!(
            serde_json::to_value(state).unwrap(),
            serde_json::Value::String(state.as_str().into())
        );
        assert_eq!(state.is_final(), PostState::FINAL.contains(&state));
    }
}

#[test]
fn cursor_round_trips() {
    let cursor = PostCursor {
        created_at: 1_700_000_000,
        id: PostId::derive("o", &location(None)),
    };
    assert_eq!(PostCursor::parse(&cursor.to_token()), Some(cursor));
    assert_eq!(PostCursor::parse("x.y"), None);
}
