use std::collections::HashSet;

use serde_json::{json, Value};
use time::macros::datetime;

use super::*;

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("serialise")
}

#[test]
fn identifiers_are_tagged_and_ip_is_normalised() {
    let dns = Identifier::Dns("app.cluster1.example.org".into());
    assert_eq!(
        to_json(&dns),
        json!({"type": "dns", "value": "app.cluster1.example.org"})
    );
    let v6: Identifier =
        serde_json::from_value(json!({"type": "ip", "value": "2001:0db8:0:0::10"})).expect("ip");
    let short: Identifier =
        serde_json::from_value(json!({"type": "ip", "value": "2001:db8::10"})).expect("ip");
    assert_eq!(v6, short);
    assert_eq!(to_json(&v6), json!({"type": "ip", "value": "2001:db8::10"}));
    assert_eq!(v6.kind(), "ip");
    assert_eq!(dns.to_string(), "dns:app.cluster1.example.org");
    let v4 = RequestedIdentifier {
        kind: "ip".into(),
        value: "192.0.2.10".into(),
    };
    assert_eq!(
        v4.parse().map(|i| to_json(&i)),
        Ok(json!({"type": "ip", "value": "192.0.2.10"}))
    );
    assert_eq!(
        RequestedIdentifier {
            kind: "permanent-identifier".into(),
            value: "x".into()
        }
        .parse(),
        Err(IdentifierError::Unsupported("permanent-identifier".into()))
    );
}

#[test]
fn every_problem_type_has_a_distinct_urn_that_round_trips() {
    let names: HashSet<&str> = ProblemType::ALL.iter().map(|t| t.name()).collect();
    assert_eq!(names.len(), 24);
    for kind in ProblemType::ALL {
        let urn = kind.urn();
        assert!(urn.starts_with("urn:ietf:params:acme:error:"));
        assert_eq!(ProblemType::from_urn(&urn), Some(kind));
        assert_eq!(to_json(&kind), json!(urn));
        let back: ProblemType = serde_json::from_value(json!(urn)).expect("deserialise");
        assert_eq!(back, kind);
    }
    assert_eq!(
        ProblemType::BadCsr.urn(),
        "urn:ietf:params:acme:error:badCSR"
    );
    assert_eq!(
        ProblemType::from_urn("urn:ietf:params:acme:error:badRequest"),
        None
    );
    assert_eq!(ProblemType::from_urn("badNonce"), None);
    assert!(serde_json::from_value::<ProblemType>(json!("urn:x")).is_err());
}

#[test]
fn problem_types_carry_their_http_status() {
    use ProblemType as T;
    for (kind, status) in [
        (T::BadNonce, 400),
        (T::Malformed, 400),
        (T::BadSignatureAlgorithm, 400),
        (T::AccountDoesNotExist, 400),
        (T::ExternalAccountRequired, 400),
        (T::BadCsr, 400),
        (T::AlreadyRevoked, 400),
        (T::BadRevocationReason, 400),
        (T::RejectedIdentifier, 400),
        (T::Unauthorized, 403),
        (T::OrderNotReady, 403),
        (T::UserActionRequired, 403),
        (T::RateLimited, 429),
        (T::ServerInternal, 500),
    ] {
        assert_eq!(kind.http_status(), status, "{kind}");
    }
}

#[test]
fn problem_document_shape() {
    let problem = Problem::new(
        ProblemType::BadNonce,
        "JWS nonce was not issued by this server",
    );
    assert_eq!(
        to_json(&problem),
        json!({
            "type": "urn:ietf:params:acme:error:badNonce",
            "detail": "JWS nonce was not issued by this server",
            "status": 400,
        })
    );
    assert_eq!(Problem::CONTENT_TYPE, "application/problem+json");
    assert_eq!(
        problem.to_string(),
        "urn:ietf:params:acme:error:badNonce: JWS nonce was not issued by this server"
    );

    let compound = Problem::new(ProblemType::RejectedIdentifier, "2 identifiers refused")
        .with_subproblems(vec![Subproblem::new(
            ProblemType::RejectedIdentifier,
            "loopback names are not allowed",
            Identifier::Dns("localhost".into()),
        )]);
    let json = to_json(&compound);
    assert_eq!(
        json["subproblems"][0],
        json!({
            "type": "urn:ietf:params:acme:error:rejectedIdentifier",
            "detail": "loopback names are not allowed",
            "identifier": {"type": "dns", "value": "localhost"},
        })
    );
    let back: Problem = serde_json::from_value(json).expect("deserialise");
    assert_eq!(back, compound);
}

#[test]
fn directory_is_camel_case_with_meta() {
    let directory = Directory {
        new_nonce: "https://ca/acme/new-nonce".into(),
        new_account: "https://ca/acme/new-account".into(),
        new_order: "https://ca/acme/new-order".into(),
        new_authz: None,
        revoke_cert: "https://ca/acme/revoke-cert".into(),
        key_change: "https://ca/acme/key-change".into(),
        renewal_info: None,
        meta: Some(DirectoryMeta {
            external_account_required: true,
            ..DirectoryMeta::default()
        }),
    };
    assert_eq!(
        to_json(&directory),
        json!({
            "newNonce": "https://ca/acme/new-nonce",
            "newAccount": "https://ca/acme/new-account",
            "newOrder": "https://ca/acme/new-order",
            "revokeCert": "https://ca/acme/revoke-cert",
            "keyChange": "https://ca/acme/key-change",
            "meta": {"externalAccountRequired": true},
        })
    );
    let meta = DirectoryMeta {
        terms_of_service: Some("https://ca/tos".into()),
        ..DirectoryMeta::default()
    };
    assert_eq!(
        to_json(&meta),
        json!({"termsOfService": "https://ca/tos", "externalAccountRequired": false})
    );
}

#[test]
fn new_account_payloads() {
    let full: NewAccount = serde_json::from_value(json!({
        "contact": ["mailto:ops@example.org"],
        "termsOfServiceAgreed": true,
        "externalAccountBinding": {"protected": "e30", "payload": "e30", "signature": ""},
    }))
    .expect("payload");
    assert!(full.terms_of_service_agreed);
    assert!(!full.only_return_existing);
    assert_eq!(full.contact, ["mailto:ops@example.org"]);
    assert_eq!(
        full.external_account_binding
            .as_ref()
            .and_then(|v| v.get("payload")),
        Some(&json!("e30"))
    );

    let lookup: NewAccount =
        serde_json::from_value(json!({"onlyReturnExisting": true})).expect("payload");
    assert!(lookup.only_return_existing);
    assert!(lookup.external_account_binding.is_none());

    let update: AccountUpdate =
        serde_json::from_value(json!({"status": "deactivated"})).expect("payload");
    assert_eq!(update.status, Some(AccountStatus::Deactivated));
    assert_eq!(update.contact, None);
    let clear: AccountUpdate = serde_json::from_value(json!({"contact": []})).expect("payload");
    assert_eq!(clear.contact, Some(vec![]));

    let change: KeyChange = serde_json::from_value(json!({
        "account": "https://ca/acme/acct/1", "oldKey": {"kty": "OKP"},
    }))
    .expect("payload");
    assert_eq!(change.old_key, json!({"kty": "OKP"}));
}

#[test]
fn account_object_shape() {
    let account = Account {
        status: AccountStatus::Valid,
        contact: vec![],
        terms_of_service_agreed: Some(true),
        external_account_binding: None,
        orders: "https://ca/acme/acct/1/orders".into(),
    };
    assert_eq!(
        to_json(&account),
        json!({
            "status": "valid",
            "termsOfServiceAgreed": true,
            "orders": "https://ca/acme/acct/1/orders",
        })
    );
}

#[test]
fn new_order_payloads() {
    let order: NewOrder = serde_json::from_value(json!({
        "identifiers": [
            {"type": "dns", "value": "*.app.cluster1.example.org"},
            {"type": "ip", "value": "192.0.2.10"},
        ],
        "notAfter": "2026-01-08T00:04:00Z",
        "replaces": "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
    }))
    .expect("payload");
    assert_eq!(order.identifiers.len(), 2);
    assert_eq!(order.not_before, None);
    assert_eq!(order.not_after, Some(datetime!(2026-01-08 00:04:00 UTC)));
    assert!(
        serde_json::from_value::<NewOrder>(json!({"identifiers": [], "notAfter": "soon"})).is_err()
    );
}

#[test]
fn order_authorization_and_challenge_shapes() {
    let order = Order {
        status: OrderStatus::Ready,
        expires: Some(datetime!(2026-01-01 12:00:00 UTC)),
        identifiers: vec![Identifier::Dns("app.cluster1.example.org".into())],
        not_before: None,
        not_after: None,
        error: None,
        authorizations: vec!["https://ca/acme/authz/1".into()],
        finalize: "https://ca/acme/order/1/finalize".into(),
        certificate: None,
    };
    assert_eq!(
        to_json(&order),
        json!({
            "status": "ready",
            "expires": "2026-01-01T12:00:00Z",
            "identifiers": [{"type": "dns", "value": "app.cluster1.example.org"}],
            "authorizations": ["https://ca/acme/authz/1"],
            "finalize": "https://ca/acme/order/1/finalize",
        })
    );

    let challenge = Challenge {
        kind: ChallengeType::Dns01,
        url: "https://ca/acme/chall/1".into(),
        status: ChallengeStatus::Valid,
        token: "tok".into(),
        validated: Some(datetime!(2026-01-01 11:00:00 UTC)),
        error: None,
    };
    let authz = Authorization {
        identifier: Identifier::Dns("app.cluster1.example.org".into()),
        status: AuthorizationStatus::Valid,
        expires: Some(datetime!(2026-01-02 00:00:00 UTC)),
        challenges: vec![challenge],
        wildcard: true,
    };
    let json = to_json(&authz);
    assert_eq!(json["wildcard"], json!(true));
    assert_eq!(
        json["challenges"][0],
        json!({
            "type": "dns-01",
            "url": "https://ca/acme/chall/1",
            "status": "valid",
            "token": "tok",
            "validated": "2026-01-01T11:00:00Z",
        })
    );
    let plain = Authorization {
        wildcard: false,
        ..authz
    };
    assert!(to_json(&plain).get("wildcard").is_none());

    for (kind, name) in [
        (ChallengeType::Http01, "http-01"),
        (ChallengeType::Dns01, "dns-01"),
        (ChallengeType::TlsAlpn01, "tls-alpn-01"),
    ] {
        assert_eq!(to_json(&kind), json!(name));
        assert_eq!(kind.name(), name);
    }
    for (status, name) in [
        (OrderStatus::Pending, "pending"),
        (OrderStatus::Processing, "processing"),
        (OrderStatus::Invalid, "invalid"),
    ] {
        assert_eq!(to_json(&status), json!(name));
    }
    assert_eq!(
        to_json(&AuthorizationStatus::Deactivated),
        json!("deactivated")
    );
    assert_eq!(to_json(&AccountStatus::Revoked), json!("revoked"));
}

#[test]
fn finalize_and_revoke_payloads_decode_base64url() {
    let finalize: Finalize = serde_json::from_value(json!({"csr": "MIIB"})).expect("payload");
    assert_eq!(finalize.csr_der(), Ok(vec![0x30, 0x82, 0x01]));
    let revoke: RevokeCert =
        serde_json::from_value(json!({"certificate": "MIIB", "reason": 4})).expect("payload");
    assert_eq!(revoke.reason, Some(4));
    assert_eq!(revoke.certificate_der(), Ok(vec![0x30, 0x82, 0x01]));
    let odd: RevokeCert =
        serde_json::from_value(json!({"certificate": "MII+", "reason": 300})).expect("payload");
    assert_eq!(odd.reason, Some(300));
    assert_eq!(
        odd.certificate_der(),
        Err(InvalidBase64Url {
            field: "certificate"
        })
    );
}
