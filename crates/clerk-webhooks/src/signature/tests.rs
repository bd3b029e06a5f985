use super::*;

/// Svix's own test vector (the one its libraries test against).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TIMESTAMP: u64 = 1_614_265_330;
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn headers<'a>(id: &'a str, timestamp: &'a str, signature: &'a str) -> SignedHeaders<'a> {
    SignedHeaders { id: Some(id), timestamp: Some(timestamp), signature: Some(signature) }
}

fn secrets() -> Secrets {
    Secrets::parse(SECRET).unwrap()
}

#[test]
fn svix_test_vector_verifies() {
    let verified = verify(&secrets(), headers(ID, "1614265330", SIGNATURE), BODY, TIMESTAMP).unwrap();
    assert_eq!(verified, Verified { id: ID.to_owned(), timestamp: TIMESTAMP });
}

#[test]
fn signature_header_matches_what_svix_sends() {
    assert_eq!(signature_header(SECRET, ID, TIMESTAMP, BODY).unwrap(), SIGNATURE);
}

#[test]
fn a_changed_body_id_or_timestamp_fails() {
    let s = secrets();
    let other_body = br#"{"test": 2432232315}"#;
    assert_eq!(
        verify(&s, headers(ID, "1614265330", SIGNATURE), other_body, TIMESTAMP),
        Err(SignatureError::NoValidSignature)
    );
    assert_eq!(
        verify(&s, headers("msg_other", "1614265330", SIGNATURE), BODY, TIMESTAMP),
        Err(SignatureError::NoValidSignature)
    );
    assert_eq!(
        verify(&s, headers(ID, "1614265331", SIGNATURE), BODY, TIMESTAMP),
        Err(SignatureError::NoValidSignature)
    );
}

#[test]
fn another_secret_fails() {
    let other = Secrets::parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    assert_eq!(
        verify(&other, headers(ID, "1614265330", SIGNATURE), BODY, TIMESTAMP),
        Err(SignatureError::NoValidSignature)
    );
}

#[test]
fn any_one_valid_signature_among_several_passes() {
    let header = format!("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1a,abc {SIGNATURE} garbage v2,xyz");
    assert!(verify(&secrets(), headers(ID, "1614265330", &header), BODY, TIMESTAMP).is_ok());
}

#[test]
fn any_one_configured_secret_passes_during_a_rotation() {
    for configured in [
        format!("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA {SECRET}"),
        format!("{SECRET},whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        format!(" {SECRET} , whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA "),
    ] {
        let s = Secrets::parse(&configured).unwrap();
        assert!(verify(&s, headers(ID, "1614265330", SIGNATURE), BODY, TIMESTAMP).is_ok(), "{configured}");
    }
}

#[test]
fn only_v1_entries_count() {
    let header = SIGNATURE.replacen("v1,", "v1a,", 1);
    assert_eq!(
        verify(&secrets(), headers(ID, "1614265330", &header), BODY, TIMESTAMP),
        Err(SignatureError::NoValidSignature)
    );
}

#[test]
fn an_empty_or_short_signature_never_matches() {
    for header in ["v1,", "v1,AA==", "v1", "", "v1,!!!"] {
        assert_eq!(
            verify(&secrets(), headers(ID, "1614265330", header), BODY, TIMESTAMP),
            Err(SignatureError::NoValidSignature),
            "{header:?}"
        );
    }
}

#[test]
fn timestamps_more_than_five_minutes_away_either_way_are_refused() {
    let s = secrets();
    let at = |now| verify(&s, headers(ID, "1614265330", SIGNATURE), BODY, now);
    assert!(at(TIMESTAMP + TOLERANCE_SECS).is_ok());
    assert!(at(TIMESTAMP - TOLERANCE_SECS).is_ok());
    assert_eq!(at(TIMESTAMP + TOLERANCE_SECS + 1), Err(SignatureError::OutsideTolerance));
    assert_eq!(at(TIMESTAMP - TOLERANCE_SECS - 1), Err(SignatureError::OutsideTolerance));
}

#[test]
fn missing_or_malformed_headers_are_named() {
    let s = secrets();
    let missing = |h: SignedHeaders<'_>| verify(&s, h, BODY, TIMESTAMP).unwrap_err();
    assert_eq!(
        missing(SignedHeaders { id: None, ..headers(ID, "1614265330", SIGNATURE) }),
        SignatureError::MissingHeader("svix-id")
    );
    assert_eq!(
        missing(SignedHeaders { timestamp: None, ..headers(ID, "1614265330", SIGNATURE) }),
        SignatureError::MissingHeader("svix-timestamp")
    );
    assert_eq!(
        missing(SignedHeaders { signature: None, ..headers(ID, "1614265330", SIGNATURE) }),
        SignatureError::MissingHeader("svix-signature")
    );
    for timestamp in ["", "-1", "1614265330.5", "1e9", "99999999999999999999999"] {
        assert_eq!(missing(headers(ID, timestamp, SIGNATURE)), SignatureError::MalformedTimestamp, "{timestamp:?}");
    }
    let long = "m".repeat(MAX_ID_LEN + 1);
    for id in ["", "msg id", "msg\u{7f}", long.as_str()] {
        assert_eq!(missing(headers(id, "1614265330", SIGNATURE)), SignatureError::MalformedId, "{id:?}");
    }
}

#[test]
fn secrets_parse_with_or_without_prefix_and_refuse_garbage() {
    assert!(Secrets::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    assert_eq!(Secrets::parse("  , "), Err(SecretError::Empty));
    assert_eq!(Secrets::parse(&format!("{SECRET} whsec_!!!")), Err(SecretError::Malformed { position: 2 }));
    assert_eq!(Secrets::parse("whsec_"), Err(SecretError::Malformed { position: 1 }));
    assert!(!format!("{:?}", secrets()).contains("MfKQ"), "Debug never shows a secret");
}
