use ring::hmac::{HMAC_SHA256, HMAC_SHA384, HMAC_SHA512};
use ring::rand::SystemRandom;
use serde_json::{json, Value};

use super::*;
use crate::acme::{NewAccount, Problem, ProblemType};
use crate::wfe::jwk::Algorithm;
use crate::wfe::test_support::{jws, mac_jws, TestKey};

const NEW_ACCOUNT: &str = "https://ca.example.org/acme/new-account";
const EAB_KID: &str = "K1";
/// 32 bytes whose base64url needs one `=` of padding: 43 characters unpadded.
const HMAC_KEY: [u8; 32] = *b"fleetca-eab-test-key-32-bytes-!!";

fn eab_header(alg: &str) -> Value {
    json!({ "alg": alg, "kid": EAB_KID, "url": NEW_ACCOUNT })
}

fn binding_for(key: &TestKey) -> Value {
    mac_jws(
        &eab_header("HS256"),
        key.jwk_json().to_string().as_bytes(),
        HMAC_SHA256,
        &HMAC_KEY,
    )
}

fn eab_key() -> EabKey {
    EabKey::from_bytes(HMAC_KEY.to_vec()).expect("key")
}

fn malformed_detail(error: JwsError) -> String {
    let problem = Problem::from(error);
    assert_eq!(problem.kind, ProblemType::Malformed);
    problem.detail.unwrap_or_default()
}

#[test]
fn good_binding_verifies_in_two_steps() {
    for alg in Algorithm::SUPPORTED {
        let key = TestKey::new(alg);
        let binding = ExternalAccountBinding::parse(&binding_for(&key), &key.jwk(), NEW_ACCOUNT)
            .expect("parses");
        assert_eq!(binding.key_id(), EAB_KID);
        assert_eq!(binding.algorithm(), MacAlgorithm::Hs256);
        assert_eq!(binding.verify(&eab_key()), Ok(()));
    }
}

#[test]
fn binding_inside_a_signed_new_account_request() {
    let key = TestKey::new(Algorithm::Es256);
    let payload = json!({
        "termsOfServiceAgreed": true,
        "contact": ["mailto:ops@example.org"],
        "externalAccountBinding": binding_for(&key),
    });
    let header = json!({
        "alg": "ES256", "nonce": "bm9uY2U", "url": NEW_ACCOUNT, "jwk": key.jwk_json(),
    });
    let body =
        serde_json::to_vec(&jws(&header, payload.to_string().as_bytes(), &key)).expect("json");
    let request = crate::wfe::jws::SignedRequest::parse(&body).expect("parses");
    request.check_url(NEW_ACCOUNT).expect("url");
    let verified = request.verify_with_embedded_jwk().expect("verifies");
    let new_account: NewAccount = verified.json().expect("payload");
    let raw = new_account
        .external_account_binding
        .expect("binding present");
    let binding = ExternalAccountBinding::parse(&raw, verified.key(), &verified.header().url)
        .expect("binding parses");
    binding.verify(&eab_key()).expect("MAC verifies");
}

#[test]
fn hs384_and_hs512_are_accepted() {
    let key = TestKey::new(Algorithm::Es256);
    for (name, alg, expected) in [
        ("HS384", HMAC_SHA384, MacAlgorithm::Hs384),
        ("HS512", HMAC_SHA512, MacAlgorithm::Hs512),
    ] {
        let value = mac_jws(
            &eab_header(name),
            key.jwk_json().to_string().as_bytes(),
            alg,
            &HMAC_KEY,
        );
        let binding =
            ExternalAccountBinding::parse(&value, &key.jwk(), NEW_ACCOUNT).expect("parses");
        assert_eq!(binding.algorithm(), expected);
        binding.verify(&eab_key()).expect("verifies");
    }
}

#[test]
fn wrong_mac_is_unauthorized() {
    let key = TestKey::new(Algorithm::Es256);
    let binding =
        ExternalAccountBinding::parse(&binding_for(&key), &key.jwk(), NEW_ACCOUNT).expect("parses");
    let other = EabKey::from_bytes(b"another-eab-key-of-32-bytes-long".to_vec()).expect("key");
    let err = binding.verify(&other).expect_err("must fail");
    assert_eq!(err, JwsError::EabBadMac);
    let problem = Problem::from(err);
    assert_eq!(problem.kind, ProblemType::Unauthorized);
    assert_eq!(problem.http_status(), 403);
}

#[test]
fn tampered_payload_fails_the_mac() {
    // The payload is checked against the account key first, so tamper with the header instead:
    // same members, different bytes (whitespace) — the MAC covers the exact ASCII.
    let key = TestKey::new(Algorithm::Es256);
    let mut value = binding_for(&key);
    let respaced = format!(r#"{{ "alg":"HS256","kid":"{EAB_KID}","url":"{NEW_ACCOUNT}"}}"#);
    value["protected"] = json!(b64_encode(respaced.as_bytes()));
    let binding =
        ExternalAccountBinding::parse(&value, &key.jwk(), NEW_ACCOUNT).expect("still parses");
    assert_eq!(binding.verify(&eab_key()), Err(JwsError::EabBadMac));
}

#[test]
fn url_mismatch_is_malformed_naming_url() {
    let key = TestKey::new(Algorithm::Es256);
    let err = ExternalAccountBinding::parse(
        &binding_for(&key),
        &key.jwk(),
        "https://ca.example.org/acme/other",
    )
    .expect_err("must be refused");
    assert_eq!(
        malformed_detail(err),
        "externalAccountBinding url does not match the request url"
    );
}

#[test]
fn payload_of_another_key_is_malformed_naming_payload() {
    let key = TestKey::new(Algorithm::Es256);
    let other = TestKey::new(Algorithm::Es256);
    let err = ExternalAccountBinding::parse(&binding_for(&other), &key.jwk(), NEW_ACCOUNT)
        .expect_err("must be refused");
    assert_eq!(
        malformed_detail(err),
        "externalAccountBinding payload is not the account key"
    );
    let not_a_key = mac_jws(&eab_header("HS256"), b"{}", HMAC_SHA256, &HMAC_KEY);
    let err = ExternalAccountBinding::parse(&not_a_key, &key.jwk(), NEW_ACCOUNT)
        .expect_err("must be refused");
    assert!(malformed_detail(err).contains("payload"));
}

#[test]
fn payload_compared_as_key_not_bytes() {
    // Same key, different member order and an extra member: still the account key.
    let key = TestKey::new(Algorithm::Es256);
    let jwk = key.jwk_json();
    let reordered = format!(
        r#"{{"y":{},"x":{},"kty":"EC","crv":"P-256","kid":"k"}}"#,
        jwk["y"], jwk["x"]
    );
    let value = mac_jws(
        &eab_header("HS256"),
        reordered.as_bytes(),
        HMAC_SHA256,
        &HMAC_KEY,
    );
    let binding = ExternalAccountBinding::parse(&value, &key.jwk(), NEW_ACCOUNT).expect("parses");
    binding.verify(&eab_key()).expect("verifies");
}

#[test]
fn header_rules() {
    let key = TestKey::new(Algorithm::Es256);
    let payload = key.jwk_json().to_string();
    let cases: [(Value, &str); 5] = [
        (
            json!({ "alg": "ES256", "kid": EAB_KID, "url": NEW_ACCOUNT }),
            "alg",
        ),
        (
            json!({ "alg": "none", "kid": EAB_KID, "url": NEW_ACCOUNT }),
            "alg",
        ),
        (json!({ "alg": "HS256", "url": NEW_ACCOUNT }), "kid"),
        (
            json!({ "alg": "HS256", "kid": EAB_KID, "url": NEW_ACCOUNT, "nonce": "bm9uY2U" }),
            "nonce",
        ),
        (json!({ "alg": "HS256", "kid": EAB_KID }), "url"),
    ];
    for (header, named) in cases {
        let value = mac_jws(&header, payload.as_bytes(), HMAC_SHA256, &HMAC_KEY);
        let err = ExternalAccountBinding::parse(&value, &key.jwk(), NEW_ACCOUNT)
            .expect_err("must be refused");
        let detail = malformed_detail(err);
        assert!(detail.contains(named), "{header}: {detail}");
    }
}

#[test]
fn shape_rules() {
    let key = TestKey::new(Algorithm::Es256);
    let mut with_header = binding_for(&key);
    with_header["header"] = json!({ "kid": EAB_KID });
    for value in [json!("a string"), json!({}), with_header] {
        let err = ExternalAccountBinding::parse(&value, &key.jwk(), NEW_ACCOUNT)
            .expect_err("must be refused");
        assert!(malformed_detail(err).starts_with("externalAccountBinding"));
    }
}

#[test]
fn hmac_key_padded_and_unpadded_both_work() {
    let key = TestKey::new(Algorithm::Es256);
    let binding =
        ExternalAccountBinding::parse(&binding_for(&key), &key.jwk(), NEW_ACCOUNT).expect("parses");
    let unpadded = b64_encode(&HMAC_KEY);
    assert_eq!(unpadded.len(), 43);
    let padded = format!("{unpadded}=");
    for text in [&unpadded, &padded] {
        let key = EabKey::from_base64url(text).expect("key decodes");
        assert_eq!(binding.verify(&key), Ok(()), "{text}");
        assert_eq!(key.to_base64url(), unpadded);
    }
    assert_eq!(
        EabKey::from_base64url(&format!("{unpadded}==")),
        Err(EabKeyError::Encoding)
    );
    let url_safe = b64_encode(&[0xfb; 32]);
    assert!(url_safe.contains('-') && url_safe.contains('_'));
    EabKey::from_base64url(&url_safe).expect("base64url alphabet");
    assert_eq!(
        EabKey::from_base64url(&url_safe.replace('-', "+").replace('_', "/")),
        Err(EabKeyError::Encoding)
    );
    assert_eq!(
        EabKey::from_base64url("c2hvcnQ"),
        Err(EabKeyError::TooShort)
    );
    assert_eq!(
        Problem::from(EabKeyError::TooShort).kind,
        ProblemType::ServerInternal
    );
}

#[test]
fn generated_keys_are_long_and_hidden_in_debug() {
    let key = EabKey::generate(&SystemRandom::new()).expect("generate");
    assert_eq!(key.as_bytes().len(), EAB_KEY_LEN);
    assert_eq!(key.to_base64url().len(), 43);
    assert!(!key.to_base64url().contains('='));
    assert_eq!(format!("{key:?}"), "EabKey(<redacted>)");
}
