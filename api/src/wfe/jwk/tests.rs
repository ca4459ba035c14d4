use serde_json::json;

use super::*;
use crate::wfe::test_support::TestKey;

/// RFC 7638 §3.1: the example RSA key and its thumbprint.
const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

#[test]
fn rfc7638_example_thumbprint() {
    let jwk = Jwk::from_json(&json!({
        "kty": "RSA",
        "n": RFC7638_N,
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }))
    .expect("RFC 7638 key parses");
    assert_eq!(jwk.thumbprint(), RFC7638_THUMBPRINT);
    assert_eq!(
        jwk.canonical_json(),
        format!(r#"{{"e":"AQAB","kty":"RSA","n":"{RFC7638_N}"}}"#)
    );
    assert_eq!(
        jwk.key_authorization("tok"),
        format!("tok.{RFC7638_THUMBPRINT}")
    );
}

#[test]
fn canonical_member_order_for_ec_and_okp() {
    let ec = TestKey::new(Algorithm::Es256).jwk();
    let canonical = ec.canonical_json();
    assert!(
        canonical.starts_with(r#"{"crv":"P-256","kty":"EC","x":""#),
        "{canonical}"
    );
    assert!(canonical.contains(r#"","y":""#));
    let ed = TestKey::new(Algorithm::EdDsa).jwk();
    assert!(ed
        .canonical_json()
        .starts_with(r#"{"crv":"Ed25519","kty":"OKP","x":""#));
}

#[test]
fn every_key_type_round_trips_and_names_its_algorithm() {
    for alg in Algorithm::SUPPORTED {
        let key = TestKey::new(alg);
        let jwk = key.jwk();
        assert_eq!(jwk.algorithm(), alg);
        assert_eq!(jwk.to_json(), key.jwk_json(), "{alg}");
        let stored = serde_json::to_string(&jwk).expect("serialise");
        let back: Jwk = serde_json::from_str(&stored).expect("deserialise");
        assert_eq!(back, jwk);
        assert_eq!(back.thumbprint(), jwk.thumbprint());
        assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
    }
}

#[test]
fn equality_ignores_optional_members() {
    let key = TestKey::new(Algorithm::Es384);
    let mut decorated = key.jwk_json();
    decorated["kid"] = json!("my key");
    decorated["use"] = json!("sig");
    assert_eq!(Jwk::from_json(&decorated).expect("parses"), key.jwk());
    assert_ne!(key.jwk(), TestKey::new(Algorithm::Es384).jwk());
}

#[test]
fn signatures_verify_and_tampering_fails() {
    for alg in Algorithm::SUPPORTED {
        let key = TestKey::new(alg);
        let jwk = key.jwk();
        let sig = key.sign(b"message");
        assert_eq!(jwk.verify(alg, b"message", &sig), Ok(()), "{alg}");
        assert_eq!(
            jwk.verify(alg, b"messagf", &sig),
            Err(JwsError::BadSignature),
            "{alg}"
        );
        assert_eq!(
            jwk.verify(alg, b"message", &[]),
            Err(JwsError::BadSignature)
        );
    }
}

#[test]
fn algorithm_must_match_key() {
    let key = TestKey::new(Algorithm::Es384);
    let sig = key.sign(b"m");
    assert!(matches!(
        key.jwk().verify(Algorithm::Es256, b"m", &sig),
        Err(JwsError::UnsupportedAlgorithm(_))
    ));
}

fn parse_err(value: Value) -> JwsError {
    Jwk::from_json(&value).expect_err("must be refused")
}

#[test]
fn unacceptable_keys_are_bad_public_key() {
    let coordinate = b64_encode(&[1u8; 32]);
    let cases = [
        json!({"kty": "EC", "crv": "P-521", "x": coordinate, "y": coordinate}),
        json!({"kty": "EC", "crv": "secp256k1", "x": coordinate, "y": coordinate}),
        json!({"kty": "EC", "crv": "P-256", "x": b64_encode(&[1u8; 31]), "y": coordinate}),
        json!({"kty": "EC", "crv": "P-384", "x": coordinate, "y": coordinate}),
        json!({"kty": "EC", "crv": "P-256", "x": coordinate, "y": coordinate, "d": coordinate}),
        json!({"kty": "OKP", "crv": "Ed448", "x": b64_encode(&[1u8; 57])}),
        json!({"kty": "OKP", "crv": "Ed25519", "x": b64_encode(&[1u8; 31])}),
        json!({"kty": "oct", "k": coordinate}),
        json!({"kty": "RSA", "n": b64_encode(&[0xC1; 128]), "e": "AQAB"}),
        json!({"kty": "RSA", "n": b64_encode(&[0x00, 0xC1, 0xC1]), "e": "AQAB"}),
        json!({"kty": "RSA", "n": RFC7638_N, "e": "AAEAAQ"}),
        json!({"kty": "RSA", "n": RFC7638_N, "e": "AQAA"}),
        json!({"kty": "RSA", "n": RFC7638_N, "e": "AQ"}),
        json!({"kty": "RSA", "n": RFC7638_N, "e": b64_encode(&[1, 0, 0, 0, 1])}),
    ];
    for case in cases {
        assert!(
            matches!(parse_err(case.clone()), JwsError::BadPublicKey(_)),
            "{case}"
        );
    }
}

#[test]
fn structurally_broken_keys_are_malformed() {
    let coordinate = b64_encode(&[1u8; 32]);
    let cases = [
        json!("not an object"),
        json!({"crv": "P-256", "x": coordinate, "y": coordinate}),
        json!({"kty": "EC", "crv": "P-256", "x": coordinate}),
        json!({"kty": "EC", "crv": "P-256", "x": format!("{coordinate}="), "y": coordinate}),
        json!({"kty": "EC", "crv": "P-256", "x": coordinate.replace('A', "+"), "y": coordinate}),
        json!({"kty": "EC", "crv": "P-256", "x": 5, "y": coordinate}),
        json!({"kty": "RSA", "e": "AQAB"}),
    ];
    for case in cases {
        assert!(
            matches!(parse_err(case.clone()), JwsError::Malformed(_)),
            "{case}"
        );
    }
    assert!(matches!(
        Jwk::from_slice(br#"{"kty":"EC","kty":"EC"}"#),
        Err(JwsError::Malformed(_))
    ));
}
