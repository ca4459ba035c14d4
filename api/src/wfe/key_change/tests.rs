use serde_json::{json, Value};

use super::*;
use crate::acme::{Problem, ProblemType};
use crate::wfe::jws::SignedRequest;
use crate::wfe::test_support::{body, jws, TestKey};

const KEY_CHANGE: &str = "https://ca.example.org/acme/key-change";
const ACCOUNT: &str = "https://ca.example.org/acme/acct/7";

/// The outer request: `kid`-signed by `old`, carrying `inner` as payload; verified with `old`.
fn outer(old: &TestKey, inner: &Value) -> VerifiedRequest {
    let header = json!({ "alg": old.alg(), "nonce": "bm9uY2U", "url": KEY_CHANGE, "kid": ACCOUNT });
    let request = SignedRequest::parse(&body(&jws(&header, inner.to_string().as_bytes(), old)))
        .expect("outer parses");
    request.verify(&old.jwk()).expect("outer verifies")
}

fn inner(new: &TestKey, header: Value, payload: &Value) -> Value {
    let mut protected = json!({ "alg": new.alg(), "url": KEY_CHANGE, "jwk": new.jwk_json() });
    if let (Some(base), Some(extra)) = (protected.as_object_mut(), header.as_object()) {
        for (name, value) in extra {
            if value.is_null() {
                base.remove(name);
            } else {
                base.insert(name.clone(), value.clone());
            }
        }
    }
    jws(&protected, payload.to_string().as_bytes(), new)
}

fn payload(old: &TestKey) -> Value {
    json!({ "account": ACCOUNT, "oldKey": old.jwk_json() })
}

#[test]
fn rollover_yields_the_new_key() {
    let old = TestKey::new(Algorithm::Rs256);
    let new = TestKey::new(Algorithm::Es256);
    let outer = outer(&old, &inner(&new, json!({}), &payload(&old)));
    assert_eq!(verify_key_change(&outer), Ok(new.jwk()));
}

fn refused(old: &TestKey, inner_jws: Value) -> String {
    let err = verify_key_change(&outer(old, &inner_jws)).expect_err("must be refused");
    let problem = Problem::from(err);
    assert_eq!(problem.kind, ProblemType::Malformed, "{problem:?}");
    problem.detail.unwrap_or_default()
}

#[test]
fn inner_header_rules() {
    let old = TestKey::new(Algorithm::Es256);
    let new = TestKey::new(Algorithm::EdDsa);
    let p = payload(&old);
    assert!(refused(&old, inner(&new, json!({ "nonce": "bm9uY2U" }), &p)).contains("nonce"));
    assert!(refused(&old, inner(&new, json!({ "kid": ACCOUNT }), &p)).contains("kid"));
    assert!(refused(&old, inner(&new, json!({ "jwk": null }), &p)).contains("jwk"));
    assert!(refused(
        &old,
        inner(&new, json!({ "url": "https://ca.example.org/x" }), &p)
    )
    .contains("url"));
}

#[test]
fn inner_payload_rules() {
    let old = TestKey::new(Algorithm::Es256);
    let new = TestKey::new(Algorithm::Es256);
    let wrong_account =
        json!({ "account": "https://ca.example.org/acme/acct/8", "oldKey": old.jwk_json() });
    assert!(refused(&old, inner(&new, json!({}), &wrong_account)).contains("account"));
    let wrong_old = json!({ "account": ACCOUNT, "oldKey": new.jwk_json() });
    assert!(refused(&old, inner(&new, json!({}), &wrong_old)).contains("oldKey"));
}

#[test]
fn inner_signature_must_verify() {
    let old = TestKey::new(Algorithm::Es256);
    let new = TestKey::new(Algorithm::Es256);
    let mut forged = inner(&new, json!({}), &payload(&old));
    forged["signature"] = inner(&old, json!({}), &payload(&old))["signature"].clone();
    assert_eq!(
        verify_key_change(&outer(&old, &forged)),
        Err(JwsError::BadSignature)
    );
}
