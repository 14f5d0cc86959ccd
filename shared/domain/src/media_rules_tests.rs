use super::*;

#[test]
fn only_the_four_codecs_tiktok_names_are_accepted() {
    for codec in [
        VideoCodec::H264,
        VideoCodec::H265,
        VideoCodec::Vp8,
        VideoCodec::Vp9,
    ] {
        assert_eq!(codec_fits(&codec), Ok(()));
    }
    for codec in [
        VideoCodec::Av1,
        VideoCodec::Other {
            name: "mp4v".into(),
        },
    ] {
        assert_eq!(
            codec_fits(&codec),
            Err(MediaRefusal::Codec {
                codec: codec.clone()
            })
        );
    }
}

#[test]
fn frame_rates_are_judged_to_the_nearest_whole_frame() {
    for millis in [23_000, 23_976, 22_500, 29_970, 59_940, 60_000, 60_400] {
        let fps = FrameRate::from_millis_per_second(millis);
        assert_eq!(frame_rate_fits(fps), Ok(()), "{fps}");
    }
    for millis in [22_499, 15_000, 60_500, 120_000] {
        let fps = FrameRate::from_millis_per_second(millis);
        assert_eq!(
            frame_rate_fits(fps),
            Err(MediaRefusal::FrameRate { fps }),
            "{fps}"
        );
    }
}

#[test]
fn an_average_frame_rate_comes_from_frames_over_time() {
    // 6 frames of 512 units at 15360 units a second: 30 fps.
    assert_eq!(
        FrameRate::average(6, 3072, 15_360),
        Some(FrameRate::whole(30))
    );
    // NTSC: 1001 units a frame at 30000 a second.
    assert_eq!(
        FrameRate::average(1, 1001, 30_000).map(|f| f.to_string()),
        Some("29.97".into())
    );
    assert_eq!(FrameRate::average(0, 1, 1), None);
    assert_eq!(FrameRate::average(5, 0, 1), None);
    assert_eq!(FrameRate::average(u64::MAX, 1, u64::MAX), None);
}

#[test]
fn frame_rates_print_without_trailing_zeros() {
    assert_eq!(FrameRate::whole(120).to_string(), "120");
    assert_eq!(
        FrameRate::from_millis_per_second(23_976).to_string(),
        "23.98"
    );
    assert_eq!(
        FrameRate::from_millis_per_second(12_500).to_string(),
        "12.5"
    );
}

#[test]
fn each_side_must_be_360_to_4096_pixels() {
    for (w, h) in [(360, 360), (720, 1280), (4096, 4096), (1080, 1920)] {
        assert_eq!(picture_size_fits(w, h), Ok(()));
    }
    for (w, h) in [(240, 426), (5000, 5000), (359, 1000), (1000, 4097)] {
        assert_eq!(
            picture_size_fits(w, h),
            Err(MediaRefusal::PictureSize {
                width: w,
                height: h
            })
        );
    }
}

#[test]
fn durations_are_measured_against_the_limit_that_applies() {
    let creator = DurationLimit::Creator {
        creator: "Ana (@ana)".into(),
        max_secs: 60,
    };
    assert_eq!(duration_fits(60.0, &creator), Ok(()));
    assert_eq!(
        duration_fits(60.4, &creator),
        Err(MediaRefusal::TooLong {
            seconds: 60,
            limit: creator.clone()
        })
    );
    assert_eq!(duration_fits(600.0, &DurationLimit::InboxUpload), Ok(()));
    assert_eq!(
        duration_fits(601.0, &DurationLimit::InboxUpload),
        Err(MediaRefusal::TooLong {
            seconds: 601,
            limit: DurationLimit::InboxUpload
        })
    );
    let unknown = DurationLimit::Creator {
        creator: "x".into(),
        max_secs: 0,
    };
    assert_eq!(duration_fits(10_000.0, &unknown), Ok(()));
}

#[test]
fn refusals_round_trip_through_json() {
    let refusals = [
        MediaRefusal::Empty,
        MediaRefusal::FrameRate {
            fps: FrameRate::whole(120),
        },
        MediaRefusal::Codec {
            codec: VideoCodec::Other {
                name: "apcn".into(),
            },
        },
        MediaRefusal::TooLong {
            seconds: 700,
            limit: DurationLimit::InboxUpload,
        },
        MediaRefusal::Truncated {
            box_type: Some("mdat".into()),
            at: 48,
            declared: Some(1000),
            available: 10,
        },
    ];
    for refusal in refusals {
        let json = serde_json::to_value(&refusal).unwrap();
        assert_eq!(
            serde_json::from_value::<MediaRefusal>(json).unwrap(),
            refusal
        );
        assert!(!refusal.to_string().is_empty());
    }
}
