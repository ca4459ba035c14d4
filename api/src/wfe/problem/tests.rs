use super::*;
use crate::acme::{Identifier, RequestedIdentifier};

#[test]
fn jws_errors_map_to_their_problem_types() {
    let cases = [
        (JwsError::Malformed("x".into()), ProblemType::Malformed, 400),
        (JwsError::BadNonce("x".into()), ProblemType::BadNonce, 400),
        (
            JwsError::UnsupportedAlgorithm("x".into()),
            ProblemType::BadSignatureAlgorithm,
            400,
        ),
        (
            JwsError::BadPublicKey("x".into()),
            ProblemType::BadPublicKey,
            400,
        ),
        (JwsError::BadSignature, ProblemType::Malformed, 400),
        (
            JwsError::UrlMismatch {
                header_url: "a".into(),
                request_url: "b".into(),
            },
            ProblemType::Unauthorized,
            403,
        ),
        (JwsError::EabBadMac, ProblemType::Unauthorized, 403),
        (
            JwsError::EabUnknownKey("K9".into()),
            ProblemType::Unauthorized,
            403,
        ),
    ];
    for (error, kind, status) in cases {
        let detail = error.to_string();
        let problem = Problem::from(error);
        assert_eq!(problem.kind, kind);
        assert_eq!(problem.status, Some(status));
        assert_eq!(problem.detail, Some(detail));
        assert_eq!(
            problem.algorithms.is_empty(),
            kind != ProblemType::BadSignatureAlgorithm
        );
    }
}

#[test]
fn server_faults_say_nothing() {
    let problem = Problem::from(NonceError::Random);
    assert_eq!(problem.kind, ProblemType::ServerInternal);
    assert_eq!(problem.http_status(), 500);
    assert_eq!(problem.detail.as_deref(), Some("internal error"));
}

#[test]
fn identifier_errors() {
    let email = RequestedIdentifier {
        kind: "email".into(),
        value: "a@example.org".into(),
    };
    let problem = Problem::from(email.parse().expect_err("unsupported"));
    assert_eq!(problem.kind, ProblemType::UnsupportedIdentifier);
    let bad_ip = RequestedIdentifier {
        kind: "ip".into(),
        value: "192.0.2.300".into(),
    };
    assert_eq!(
        Problem::from(bad_ip.parse().expect_err("bad ip")).kind,
        ProblemType::Malformed
    );
    let dns = RequestedIdentifier {
        kind: "dns".into(),
        value: "app.cluster1.example.org".into(),
    };
    assert_eq!(
        dns.parse(),
        Ok(Identifier::Dns("app.cluster1.example.org".into()))
    );
}

#[test]
fn invalid_base64_is_malformed() {
    let finalize = crate::acme::Finalize { csr: "MII=".into() };
    let problem = Problem::from(finalize.csr_der().expect_err("padded"));
    assert_eq!(problem.kind, ProblemType::Malformed);
    assert_eq!(
        problem.detail.as_deref(),
        Some("csr is not unpadded base64url")
    );
}
