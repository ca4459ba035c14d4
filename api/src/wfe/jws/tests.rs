use serde_json::{json, Value};

use super::*;
use crate::acme::{NewOrder, Problem, ProblemType};
use crate::wfe::test_support::{body, jws, TestKey};

const URL: &str = "https://ca.example.org/acme/new-order";
const KID: &str = "https://ca.example.org/acme/acct/1";
const NONCE: &str = "bm9uY2U";

fn jwk_header(key: &TestKey) -> Value {
    json!({ "alg": key.alg(), "nonce": NONCE, "url": URL, "jwk": key.jwk_json() })
}

fn kid_header(key: &TestKey) -> Value {
    json!({ "alg": key.alg(), "nonce": NONCE, "url": URL, "kid": KID })
}

fn problem_type(error: JwsError) -> ProblemType {
    Problem::from(error).kind
}

fn parse_value(value: &Value) -> Result<SignedRequest, JwsError> {
    SignedRequest::parse(&body(value))
}

/// Re-encodes one member of a JWS body without re-signing.
fn with_member(mut jws: Value, member: &str, text: &str) -> Value {
    jws[member] = json!(text);
    jws
}

#[test]
fn every_algorithm_verifies_with_embedded_jwk() {
    for alg in Algorithm::SUPPORTED {
        let key = TestKey::new(alg);
        let request = parse_value(&jws(&jwk_header(&key), b"{}", &key)).expect("parses");
        assert_eq!(request.header().alg, alg);
        assert_eq!(request.nonce(), NONCE);
        assert_eq!(request.url(), URL);
        assert_eq!(request.jwk().expect("jwk"), &key.jwk());
        assert!(request.kid().is_err());
        let verified = request.verify_with_embedded_jwk().expect("verifies");
        assert_eq!(verified.payload(), b"{}");
        assert_eq!(verified.key(), &key.jwk());
        assert!(!verified.is_post_as_get());
    }
}

#[test]
fn every_algorithm_verifies_with_account_key() {
    for alg in Algorithm::SUPPORTED {
        let key = TestKey::new(alg);
        let payload = br#"{"identifiers":[{"type":"dns","value":"app.cluster1.example.org"}]}"#;
        let request = parse_value(&jws(&kid_header(&key), payload, &key)).expect("parses");
        assert_eq!(request.kid(), Ok(KID));
        assert!(request.jwk().is_err());
        let verified = request.verify(&key.jwk()).expect("verifies");
        let order: NewOrder = verified.json().expect("newOrder payload");
        assert_eq!(order.identifiers.len(), 1);
    }
}

#[test]
fn post_as_get_has_empty_payload() {
    let key = TestKey::new(Algorithm::Es256);
    let verified = parse_value(&jws(&kid_header(&key), b"", &key))
        .expect("parses")
        .verify(&key.jwk())
        .expect("verifies");
    assert!(verified.is_post_as_get());
    assert_eq!(verified.expect_post_as_get(), Ok(()));
    assert!(matches!(
        verified.json::<NewOrder>(),
        Err(JwsError::Malformed(_))
    ));

    let with_body = parse_value(&jws(&kid_header(&key), b"{}", &key))
        .expect("parses")
        .verify(&key.jwk())
        .expect("verifies");
    assert!(matches!(
        with_body.expect_post_as_get(),
        Err(JwsError::Malformed(_))
    ));
}

#[test]
fn tampered_payload_fails() {
    for alg in Algorithm::SUPPORTED {
        let key = TestKey::new(alg);
        let good = jws(&jwk_header(&key), b"{}", &key);
        let tampered = with_member(good, "payload", &b64_encode(br#"{"a":1}"#));
        let err = parse_value(&tampered)
            .expect("parses")
            .verify_with_embedded_jwk()
            .expect_err("signature must fail");
        assert_eq!(err, JwsError::BadSignature);
        assert_eq!(problem_type(err), ProblemType::Malformed);
    }
}

#[test]
fn tampered_protected_header_fails() {
    let key = TestKey::new(Algorithm::Rs256);
    let good = jws(&kid_header(&key), b"{}", &key);
    let mut header = kid_header(&key);
    header["url"] = json!("https://ca.example.org/acme/revoke-cert");
    let tampered = with_member(
        good,
        "protected",
        &b64_encode(header.to_string().as_bytes()),
    );
    let request = parse_value(&tampered).expect("parses");
    assert_eq!(request.url(), "https://ca.example.org/acme/revoke-cert");
    assert_eq!(
        request.verify(&key.jwk()).expect_err("must fail"),
        JwsError::BadSignature
    );
}

#[test]
fn wrong_account_key_fails() {
    let key = TestKey::new(Algorithm::Es256);
    let other = TestKey::new(Algorithm::Es256);
    let request = parse_value(&jws(&kid_header(&key), b"{}", &key)).expect("parses");
    assert_eq!(
        request.verify(&other.jwk()).expect_err("must fail"),
        JwsError::BadSignature
    );
}

#[test]
fn account_key_of_other_type_is_bad_signature_algorithm() {
    let key = TestKey::new(Algorithm::Es256);
    let request = parse_value(&jws(&kid_header(&key), b"{}", &key)).expect("parses");
    let err = request
        .verify(&TestKey::new(Algorithm::EdDsa).jwk())
        .expect_err("must fail");
    assert_eq!(problem_type(err), ProblemType::BadSignatureAlgorithm);
}

#[test]
fn none_and_mac_algorithms_are_refused_with_algorithm_list() {
    let key = TestKey::new(Algorithm::Es256);
    for alg in [
        "none", "HS256", "HS384", "HS512", "ES512", "PS256", "es256", "",
    ] {
        let mut header = kid_header(&key);
        header["alg"] = json!(alg);
        let body = json!({
            "protected": b64_encode(header.to_string().as_bytes()),
            "payload": b64_encode(b"{}"),
            "signature": "",
        });
        let err = parse_value(&body).expect_err("must be refused");
        let problem = Problem::from(&err);
        assert_eq!(problem.kind, ProblemType::BadSignatureAlgorithm, "{alg}");
        assert_eq!(problem.http_status(), 400);
        assert_eq!(problem.algorithms, ["ES256", "ES384", "RS256", "EdDSA"]);
        assert!(
            problem
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("ES256, ES384, RS256, EdDSA")),
            "{problem:?}"
        );
        let json = serde_json::to_value(&problem).expect("serialise");
        assert_eq!(json["algorithms"][0], "ES256");
    }
}

#[test]
fn embedded_jwk_must_match_alg() {
    let key = TestKey::new(Algorithm::Es384);
    let mut header = jwk_header(&key);
    header["alg"] = json!("ES256");
    let err = parse_value(&jws(&header, b"{}", &key)).expect_err("must be refused");
    assert_eq!(problem_type(err), ProblemType::BadSignatureAlgorithm);
}

#[test]
fn both_jwk_and_kid_is_malformed() {
    let key = TestKey::new(Algorithm::Es256);
    let mut header = jwk_header(&key);
    header["kid"] = json!(KID);
    let err = parse_value(&jws(&header, b"{}", &key)).expect_err("must be refused");
    assert!(err.to_string().contains("both jwk and kid"), "{err}");
    assert_eq!(problem_type(err), ProblemType::Malformed);
}

#[test]
fn neither_jwk_nor_kid_is_malformed() {
    let key = TestKey::new(Algorithm::Es256);
    let header = json!({ "alg": "ES256", "nonce": NONCE, "url": URL });
    let err = parse_value(&jws(&header, b"{}", &key)).expect_err("must be refused");
    assert!(err.to_string().contains("neither jwk nor kid"), "{err}");
    assert_eq!(problem_type(err), ProblemType::Malformed);
}

#[test]
fn missing_url_is_malformed() {
    let key = TestKey::new(Algorithm::Es256);
    let mut header = kid_header(&key);
    header.as_object_mut().expect("object").remove("url");
    let err = parse_value(&jws(&header, b"{}", &key)).expect_err("must be refused");
    assert!(err.to_string().contains("no url"), "{err}");
    assert_eq!(problem_type(err), ProblemType::Malformed);
}

#[test]
fn missing_or_non_string_nonce_is_bad_nonce() {
    let key = TestKey::new(Algorithm::Es256);
    let mut header = kid_header(&key);
    header.as_object_mut().expect("object").remove("nonce");
    let err = parse_value(&jws(&header, b"{}", &key)).expect_err("must be refused");
    let problem = Problem::from(err);
    assert_eq!(problem.kind, ProblemType::BadNonce);
    assert_eq!(problem.http_status(), 400);

    header["nonce"] = json!(12);
    let err = parse_value(&jws(&header, b"{}", &key)).expect_err("must be refused");
    assert_eq!(problem_type(err), ProblemType::BadNonce);
}

#[test]
fn url_must_match_request_url() {
    let key = TestKey::new(Algorithm::Es256);
    let request = parse_value(&jws(&kid_header(&key), b"{}", &key)).expect("parses");
    assert_eq!(request.check_url(URL), Ok(()));
    let err = request
        .check_url("https://ca.example.org/acme/new-account")
        .expect_err("must be refused");
    let problem = Problem::from(err);
    assert_eq!(problem.kind, ProblemType::Unauthorized);
    assert_eq!(problem.http_status(), 403);
}

#[test]
fn unprotected_header_member_is_malformed() {
    let key = TestKey::new(Algorithm::Es256);
    let mut body = jws(&kid_header(&key), b"{}", &key);
    body["header"] = json!({ "kid": KID });
    let err = parse_value(&body).expect_err("must be refused");
    assert!(err.to_string().contains("unprotected header"), "{err}");
    assert_eq!(problem_type(err), ProblemType::Malformed);
}

#[test]
fn general_serialization_is_malformed() {
    let key = TestKey::new(Algorithm::Es256);
    let flat = jws(&kid_header(&key), b"{}", &key);
    let general = json!({
        "payload": flat["payload"],
        "signatures": [{ "protected": flat["protected"], "signature": flat["signature"] }],
    });
    assert_eq!(
        problem_type(parse_value(&general).expect_err("refused")),
        ProblemType::Malformed
    );
}

#[test]
fn unknown_body_members_are_ignored() {
    let key = TestKey::new(Algorithm::Es256);
    let mut body = jws(&kid_header(&key), b"{}", &key);
    body["extension"] = json!(true);
    parse_value(&body)
        .expect("parses")
        .verify(&key.jwk())
        .expect("verifies");
}

#[test]
fn missing_members_are_malformed() {
    let key = TestKey::new(Algorithm::Es256);
    let good = jws(&kid_header(&key), b"{}", &key);
    for member in ["protected", "payload", "signature"] {
        let mut body = good.clone();
        body.as_object_mut().expect("object").remove(member);
        let err = parse_value(&body).expect_err("must be refused");
        assert!(err.to_string().contains(member), "{member}: {err}");
        assert_eq!(problem_type(err), ProblemType::Malformed);
    }
}

#[test]
fn padding_and_other_alphabets_are_malformed() {
    let key = TestKey::new(Algorithm::Es256);
    let good = jws(&kid_header(&key), b"{}", &key);
    parse_value(&good).expect("unpadded parses");
    for member in ["protected", "payload", "signature"] {
        let text = good[member].as_str().expect("string").to_owned();
        // Correct RFC 4648 padding where the length needs it (payload "e30=", signature "…=="),
        // a lone "=" otherwise: both refused.
        let padded = format!("{text}{}", "=".repeat(((4 - text.len() % 4) % 4).max(1)));
        let body = with_member(good.clone(), member, &padded);
        assert!(
            matches!(parse_value(&body), Err(JwsError::Malformed(_))),
            "{member} padded"
        );
        let body = with_member(good.clone(), member, &format!("{text}*"));
        assert!(
            matches!(parse_value(&body), Err(JwsError::Malformed(_))),
            "{member} bad char"
        );
    }
    let standard = with_member(good.clone(), "payload", "e30+");
    assert!(matches!(
        parse_value(&standard),
        Err(JwsError::Malformed(_))
    ));
}

#[test]
fn non_jws_bodies_are_malformed() {
    let key = TestKey::new(Algorithm::Es256);
    let flat = jws(&kid_header(&key), b"{}", &key);
    let compact = format!(
        "\"{}.{}.{}\"",
        flat["protected"].as_str().expect("s"),
        flat["payload"].as_str().expect("s"),
        flat["signature"].as_str().expect("s")
    );
    for body in [
        &b""[..],
        b"null",
        b"[]",
        b"{",
        compact.as_bytes(),
        br#"{"protected":1,"payload":"","signature":""}"#,
    ] {
        assert!(
            matches!(SignedRequest::parse(body), Err(JwsError::Malformed(_))),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn protected_header_must_be_a_json_object_without_duplicates_or_crit() {
    let key = TestKey::new(Algorithm::Es256);
    let headers = [
        "not json".to_owned(),
        "[]".to_owned(),
        format!(r#"{{"alg":"ES256","alg":"ES256","nonce":"{NONCE}","url":"{URL}","kid":"{KID}"}}"#),
        format!(
            r#"{{"alg":"ES256","nonce":"{NONCE}","url":"{URL}","kid":"{KID}","crit":["b64"],"b64":false}}"#
        ),
        format!(r#"{{"alg":"ES256","nonce":"{NONCE}","url":"{URL}","kid":"{KID}","b64":false}}"#),
    ];
    for header in headers {
        let protected = b64_encode(header.as_bytes());
        let payload = b64_encode(b"{}");
        let signature = key.sign(format!("{protected}.{payload}").as_bytes());
        let body = json!({
            "protected": protected, "payload": payload, "signature": b64_encode(&signature),
        });
        assert!(
            matches!(parse_value(&body), Err(JwsError::Malformed(_))),
            "{header}"
        );
    }
}

#[test]
fn jwk_and_kid_requirements_per_resource() {
    let key = TestKey::new(Algorithm::Es256);
    let by_kid = parse_value(&jws(&kid_header(&key), b"{}", &key)).expect("parses");
    assert_eq!(
        problem_type(by_kid.verify_with_embedded_jwk().expect_err("needs jwk")),
        ProblemType::Malformed
    );
    let by_jwk = parse_value(&jws(&jwk_header(&key), b"{}", &key)).expect("parses");
    assert_eq!(
        problem_type(by_jwk.kid().expect_err("needs kid")),
        ProblemType::Malformed
    );
}

#[test]
fn empty_kid_is_malformed() {
    let key = TestKey::new(Algorithm::Es256);
    let mut header = kid_header(&key);
    header["kid"] = json!("");
    assert!(matches!(
        parse_value(&jws(&header, b"{}", &key)),
        Err(JwsError::Malformed(_))
    ));
}

#[test]
fn bad_embedded_jwk_is_bad_public_key() {
    let key = TestKey::new(Algorithm::Es256);
    let mut header = jwk_header(&key);
    header["jwk"]["crv"] = json!("P-521");
    assert_eq!(
        problem_type(parse_value(&jws(&header, b"{}", &key)).expect_err("refused")),
        ProblemType::BadPublicKey
    );
}

#[test]
fn truncated_and_garbled_bodies_never_panic() {
    let key = TestKey::new(Algorithm::Rs256);
    let good = body(&jws(&jwk_header(&key), b"{\"a\":1}", &key));
    for end in 0..good.len() {
        let _ = SignedRequest::parse(&good[..end]);
    }
    let mut garbled = good.clone();
    for i in 0..garbled.len() {
        let original = garbled[i];
        garbled[i] = original.wrapping_add(1);
        if let Ok(request) = SignedRequest::parse(&garbled) {
            let _ = request.verify_with_embedded_jwk();
        }
        garbled[i] = original;
    }
}
