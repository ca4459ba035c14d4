//! OCSP tests: real requests from `openssl ocsp`, responses checked by `openssl ocsp` and
//! pkilint, and hand-built requests for the limits.
use std::path::Path;

use der::asn1::Any;
use fleetca_hsm::{KeyType, RcgenSigner, SoftwareKey};
use time::{Duration, OffsetDateTime};

use super::*;
use crate::crl::tests::{run, write, TestCa};

struct Times {
    now: OffsetDateTime,
}

impl Times {
    fn new() -> Self {
        Self {
            now: OffsetDateTime::now_utc(),
        }
    }

    fn params<'a>(&self, cert_id: &'a CertId, status: CertStatus) -> ResponseParams<'a> {
        ResponseParams {
            cert_id,
            status,
            produced_at: self.now,
            this_update: self.now - Duration::minutes(5),
            next_update: self.now + Duration::days(3),
        }
    }
}

/// `openssl ocsp -issuer int.pem -cert LEAF -reqout req.der` with extra flags.
fn openssl_request(dir: &Path, leaf: &str, flags: &[&str]) -> Vec<u8> {
    let mut args = vec!["ocsp", "-issuer", "int.pem"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["-cert", leaf, "-reqout", "req.der"]);
    let (ok, out, err) = run(dir, "openssl", &args);
    assert!(ok, "{out}{err}");
    std::fs::read(dir.join("req.der")).expect("req.der")
}

/// Verifies `resp` with OpenSSL: signature and chain to root.pem, the nonce against the
/// request in req.der, and the status of LEAF. Returns (status output, nonce-check stderr).
///
/// Two runs, because `openssl ocsp` reads `-reqin` (and so checks the request's nonce) only
/// when no `-cert` builds a request of its own; `-no_nonce` stops it adding a nonce.
fn openssl_verify(
    dir: &Path,
    leaf: &str,
    resp: &[u8],
    hash_flag: Option<&str>,
) -> (String, String) {
    write(dir, "resp.der", resp);
    let trust = ["-CAfile", "root.pem", "-verify_other", "int.pem"];
    let mut args = vec![
        "ocsp",
        "-respin",
        "resp.der",
        "-reqin",
        "req.der",
        "-no_nonce",
    ];
    args.extend_from_slice(&trust);
    let (ok, out, nonce_err) = run(dir, "openssl", &args);
    assert!(ok, "{out}{nonce_err}");
    assert!(nonce_err.contains("Response verify OK"), "{out}{nonce_err}");

    let mut args = vec![
        "ocsp",
        "-respin",
        "resp.der",
        "-no_nonce",
        "-issuer",
        "int.pem",
    ];
    args.extend_from_slice(&trust);
    args.extend(hash_flag);
    args.extend_from_slice(&["-cert", leaf]);
    let (ok, out, err) = run(dir, "openssl", &args);
    assert!(ok, "{out}{err}");
    assert!(err.contains("Response verify OK"), "{out}{err}");
    (out, nonce_err)
}

/// Lints an OCSP response with pkilint at WARNING and above; returns its output when it
/// finds something.
fn pkilint_response(dir: &Path, resp: &[u8]) -> Option<String> {
    write(dir, "lint.der", resp);
    let (ok, out, err) = run(
        dir,
        "lint_ocsp_response",
        &["lint", "-s", "WARNING", "lint.der"],
    );
    (!ok || !out.trim().is_empty()).then(|| format!("{out}{err}"))
}

/// The requests OpenSSL makes (SHA-1 and SHA-256, with and without nonce) parse, name our
/// issuer and serial, and the responses verify in OpenSSL with the right status (C18, C20).
#[test]
fn openssl_requests_and_responses_round_trip() {
    let ca = TestCa::new(KeyType::EcP256, 3);
    let issuer = IssuerId::from_certificate_der(&ca.int_der).expect("issuer id");
    let responder = ResponderIdentity::issuer(ca.int_key.public_key()).expect("responder");
    let times = Times::new();
    let revoked_at = times.now - Duration::hours(1);
    let cases = [
        ("leaf0.pem", CertStatus::Good, "leaf0.pem: good"),
        (
            "leaf1.pem",
            CertStatus::Revoked {
                time: revoked_at,
                reason: Some(1),
            },
            "leaf1.pem: revoked",
        ),
        ("leaf2.pem", CertStatus::Unknown, "leaf2.pem: unknown"),
    ];
    for (hash_flag, hash) in [
        (None, HashAlgorithm::Sha1),
        (Some("-sha256"), HashAlgorithm::Sha256),
    ] {
        for nonce in [true, false] {
            for (i, (leaf, status, line)) in cases.iter().enumerate() {
                let mut flags: Vec<&str> = hash_flag.into_iter().collect();
                flags.push(if nonce { "-nonce" } else { "-no_nonce" });
                let der = openssl_request(ca.path(), leaf, &flags);
                let request = parse_request(&der).expect("parse");
                let id = request.cert_id();
                assert_eq!(id.hash_algorithm(), hash);
                assert!(issuer.matches(id), "CertID names our issuer");
                assert_eq!(id.serial().as_ref(), Some(&ca.leaves[i].0));
                assert_eq!(request.nonce().is_some(), nonce);
                if let Some(n) = request.nonce() {
                    assert_eq!(n.value().len(), 16, "OpenSSL's default nonce");
                }
                // The CertID we would build ourselves for pre-signing is the same one.
                let ours = CertId::new(&issuer, hash, &ca.leaves[i].0).expect("cert id");
                assert_eq!(ours.as_der(), id.as_der());

                let resp = build_response(
                    &ca.int_key,
                    &responder,
                    &times.params(id, *status),
                    request.nonce(),
                )
                .expect("response");
                let (out, err) = openssl_verify(ca.path(), leaf, &resp, hash_flag);
                assert!(out.contains(line), "{out}");
                if nonce {
                    assert!(!err.contains("WARNING"), "nonce echoed: {err}");
                }
                if matches!(status, CertStatus::Revoked { .. }) {
                    assert!(out.contains("Reason: keyCompromise"), "{out}");
                }
                // C18: the response's CertID is the request's, byte for byte; C20: so is the
                // nonce extension.
                assert!(contains(&resp, id.as_der()));
                if let Some(n) = request.nonce() {
                    assert!(contains(&resp, &n.to_der().expect("der")));
                } else {
                    assert!(!contains(&resp, &OID_NONCE.to_der().expect("oid")));
                }
            }
        }
    }
}

/// Without the echo OpenSSL warns, and with another nonce it fails: the nonce checks in
/// [`openssl_verify`] are real.
#[test]
fn openssl_warns_when_the_nonce_is_missing() {
    let ca = TestCa::new(KeyType::EcP256, 1);
    let responder = ResponderIdentity::issuer(ca.int_key.public_key()).expect("responder");
    let times = Times::new();
    let der = openssl_request(ca.path(), "leaf0.pem", &["-nonce"]);
    let request = parse_request(&der).expect("parse");
    let resp = build_response(
        &ca.int_key,
        &responder,
        &times.params(request.cert_id(), CertStatus::Good),
        None,
    )
    .expect("response");
    let (_, err) = openssl_verify(ca.path(), "leaf0.pem", &resp, None);
    assert!(err.contains("WARNING: no nonce in response"), "{err}");

    // And a nonce other than the request's fails verification outright.
    let other = Nonce::new(&[0x42; 16]).expect("nonce");
    let resp = build_response(
        &ca.int_key,
        &responder,
        &times.params(request.cert_id(), CertStatus::Good),
        Some(&other),
    )
    .expect("response");
    write(ca.path(), "resp.der", &resp);
    let (ok, out, err) = run(
        ca.path(),
        "openssl",
        &[
            "ocsp",
            "-respin",
            "resp.der",
            "-reqin",
            "req.der",
            "-no_nonce",
            "-CAfile",
            "root.pem",
            "-verify_other",
            "int.pem",
        ],
    );
    assert!(!ok && err.contains("Nonce Verify error"), "{out}{err}");
}

/// Revoked with and without a reason; unspecified writes no revocationReason.
#[test]
fn revoked_reasons() {
    let ca = TestCa::new(KeyType::EcP256, 1);
    let responder = ResponderIdentity::issuer(ca.int_key.public_key()).expect("responder");
    let times = Times::new();
    let der = openssl_request(ca.path(), "leaf0.pem", &["-no_nonce"]);
    let request = parse_request(&der).expect("parse");
    for (reason, shown) in [(Some(4), Some("superseded")), (Some(0), None), (None, None)] {
        let status = CertStatus::Revoked {
            time: times.now,
            reason,
        };
        let resp = build_response(
            &ca.int_key,
            &responder,
            &times.params(request.cert_id(), status),
            None,
        )
        .expect("response");
        let (out, _) = openssl_verify(ca.path(), "leaf0.pem", &resp, None);
        assert!(out.contains("leaf0.pem: revoked"), "{out}");
        match shown {
            Some(name) => assert!(out.contains(&format!("Reason: {name}")), "{out}"),
            None => assert!(!out.contains("Reason:"), "{out}"),
        }
    }
    for bad in [7, 8, 11] {
        let status = CertStatus::Revoked {
            time: times.now,
            reason: Some(bad),
        };
        let err = build_response(
            &ca.int_key,
            &responder,
            &times.params(request.cert_id(), status),
            None,
        )
        .expect_err("bad reason");
        assert!(matches!(err, OcspError::Invalid(_)), "{bad}: {err}");
    }
}

/// The response's fields, decoded independently: v1 omitted, byKey = SHA-1 of the key bits,
/// GeneralizedTime without fractions, nextUpdate present, signature algorithm per key type.
#[test]
fn response_fields_c19() {
    for (key_type, alg) in [
        (KeyType::EcP256, "1.2.840.10045.4.3.2"),
        (KeyType::EcP384, "1.2.840.10045.4.3.3"),
        (KeyType::Rsa3072, "1.2.840.113549.1.1.11"),
    ] {
        let ca = TestCa::new(key_type, 1);
        let issuer = IssuerId::from_certificate_der(&ca.int_der).expect("issuer id");
        let responder = ResponderIdentity::issuer(ca.int_key.public_key()).expect("responder");
        let times = Times::new();
        let id = CertId::new(&issuer, HashAlgorithm::Sha1, &ca.leaves[0].0).expect("id");
        let resp = build_response(
            &ca.int_key,
            &responder,
            &times.params(&id, CertStatus::Good),
            None,
        )
        .expect("response");

        let outer = x509_ocsp::OcspResponse::from_der(&resp).expect("OCSPResponse");
        assert_eq!(
            outer.response_status,
            x509_ocsp::OcspResponseStatus::Successful
        );
        let bytes = outer.response_bytes.expect("responseBytes");
        assert_eq!(bytes.response_type, OID_OCSP_BASIC);
        let basic =
            x509_ocsp::BasicOcspResponse::from_der(bytes.response.as_bytes()).expect("basic");
        assert_eq!(basic.signature_algorithm.oid.to_string(), alg, "{key_type}");
        let data = &basic.tbs_response_data;
        let tbs = data.to_der().expect("der");
        assert_ne!(tbs[2], 0xa0, "version v1 is the DEFAULT and not written");
        let key_hash = ring::digest::digest(
            &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            &ca.int_key.public_key().bits,
        );
        assert_eq!(
            data.responder_id,
            ResponderId::ByKey(OctetString::new(key_hash.as_ref()).expect("octets"))
        );
        assert_eq!(responder.key_hash(), key_hash.as_ref());
        assert!(data.response_extensions.is_none());
        assert!(basic.certs.is_none());
        let single = &data.responses[0];
        assert!(single.next_update.is_some());
        // Every time is GeneralizedTime, 15 octets "YYYYMMDDHHMMSSZ".
        let time_der = single.this_update.to_der().expect("der");
        assert_eq!(&time_der[..2], [0x18, 0x0f]);
        // The signature verifies over ResponseData's DER.
        ca.int_key
            .public_key()
            .verify(&tbs, basic.signature.raw_bytes())
            .expect("signature over ResponseData");

        assert_eq!(pkilint_response(ca.path(), &resp), None, "{key_type}");
    }
}

/// A delegated responder certificate (C19): EKU OCSPSigning, ocsp-nocheck, issued by the
/// intermediate; it is sent in `certs` and named byKey, and OpenSSL accepts it.
#[test]
fn delegated_responder_c19() {
    let ca = TestCa::new(KeyType::EcP256, 1);
    let issuer = IssuerId::from_certificate_der(&ca.int_der).expect("issuer id");
    let responder_key = SoftwareKey::generate(KeyType::EcP256).expect("key");
    let int_signer = RcgenSigner::new(&ca.int_key).expect("rcgen");
    let int_issuer =
        rcgen::Issuer::from_ca_cert_der(ca.int_cert.der(), &int_signer).expect("issuer");
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "cluster1 OCSP responder");
    p.not_before = OffsetDateTime::now_utc() - Duration::hours(1);
    p.not_after = OffsetDateTime::now_utc() + Duration::days(4);
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    p.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::OcspSigning];
    p.use_authority_key_identifier_extension = true;
    p.custom_extensions
        .push(rcgen::CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5],
            vec![0x05, 0x00],
        ));
    let responder_signer = RcgenSigner::new(&responder_key).expect("rcgen");
    let cert = p
        .signed_by(&responder_signer, &int_issuer)
        .expect("responder cert");

    let responder =
        ResponderIdentity::delegated(responder_key.public_key(), cert.der()).expect("delegated");
    let der = openssl_request(ca.path(), "leaf0.pem", &["-nonce"]);
    let request = parse_request(&der).expect("parse");
    assert!(issuer.matches(request.cert_id()));
    let times = Times::new();
    let resp = build_response(
        &responder_key,
        &responder,
        &times.params(request.cert_id(), CertStatus::Good),
        request.nonce(),
    )
    .expect("response");
    let (out, err) = openssl_verify(ca.path(), "leaf0.pem", &resp, None);
    assert!(out.contains("leaf0.pem: good"), "{out}");
    assert!(!err.contains("WARNING"), "{err}");
    assert!(
        contains(&resp, cert.der()),
        "certs holds the responder certificate"
    );
    assert_eq!(pkilint_response(ca.path(), &resp), None);

    // The wrong key, or a certificate without OCSPSigning, is refused.
    assert!(ResponderIdentity::delegated(ca.int_key.public_key(), cert.der()).is_err());
    assert!(ResponderIdentity::delegated(responder_key.public_key(), &ca.int_der).is_err());
    // A signer other than the responder's key is refused before signing.
    assert!(matches!(
        build_response(
            &ca.int_key,
            &responder,
            &times.params(request.cert_id(), CertStatus::Good),
            None
        ),
        Err(OcspError::Algorithm(_))
    ));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A hand-built request: one or more CertIDs and optional extensions.
fn request_der(ids: Vec<x509_ocsp::CertId>, extensions: Option<Vec<Extension>>) -> Vec<u8> {
    x509_ocsp::OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: ids
                .into_iter()
                .map(|req_cert| x509_ocsp::Request {
                    req_cert,
                    single_request_extensions: None,
                })
                .collect(),
            request_extensions: extensions,
        },
        optional_signature: None,
    }
    .to_der()
    .expect("der")
}

fn nonce_extension(value: &[u8]) -> Extension {
    Extension {
        extn_id: OID_NONCE,
        critical: false,
        extn_value: OctetString::new(OctetString::new(value).expect("os").to_der().expect("der"))
            .expect("os"),
    }
}

fn sample_issuer() -> IssuerId {
    let ca = TestCa::new(KeyType::EcP256, 0);
    IssuerId::from_certificate_der(&ca.int_der).expect("issuer id")
}

fn sample_cert_id(issuer: &IssuerId, hash: HashAlgorithm) -> x509_ocsp::CertId {
    CertId::new(issuer, hash, &Serial::from_hex("0102ab").expect("serial"))
        .expect("id")
        .inner
}

/// C20: 1-, 32- and 128-octet nonces are accepted and echoed; 0 and 129 are malformedRequest.
#[test]
fn nonce_limits_c20() {
    let issuer = sample_issuer();
    let id = sample_cert_id(&issuer, HashAlgorithm::Sha256);
    for len in [1, 16, 32, 128] {
        let value = vec![0x5a; len];
        let ext = nonce_extension(&value);
        let request = parse_request(&request_der(vec![id.clone()], Some(vec![ext.clone()])))
            .unwrap_or_else(|e| panic!("{len}: {e}"));
        let nonce = request.nonce().expect("nonce");
        assert_eq!(nonce.value(), value.as_slice());
        assert_eq!(nonce.to_der().expect("der"), ext.to_der().expect("der"));
        assert_eq!(Nonce::new(&value).expect("nonce"), *nonce);
    }
    for len in [0, 129, 1000] {
        let err = parse_request(&request_der(
            vec![id.clone()],
            Some(vec![nonce_extension(&vec![1; len])]),
        ))
        .expect_err("out of range");
        assert_eq!(
            err.response_status(),
            ErrorStatus::MalformedRequest,
            "{len}"
        );
        assert!(Nonce::new(&vec![1; len]).is_err());
    }
    // extnValue that is the bare nonce rather than an OCTET STRING around it.
    let bare = Extension {
        extn_id: OID_NONCE,
        critical: false,
        extn_value: OctetString::new(vec![0x5a; 16]).expect("os"),
    };
    assert!(matches!(
        parse_request(&request_der(vec![id.clone()], Some(vec![bare]))),
        Err(OcspError::Malformed(_))
    ));
    // Two nonces.
    let two = vec![nonce_extension(&[1; 16]), nonce_extension(&[2; 16])];
    assert!(matches!(
        parse_request(&request_der(vec![id.clone()], Some(two))),
        Err(OcspError::Malformed(_))
    ));
    // A critical extension we do not know fails; a non-critical one is ignored.
    let mut unknown = nonce_extension(&[1; 16]);
    unknown.extn_id = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.4");
    assert!(parse_request(&request_der(vec![id.clone()], Some(vec![unknown.clone()]))).is_ok());
    unknown.critical = true;
    assert!(matches!(
        parse_request(&request_der(vec![id], Some(vec![unknown]))),
        Err(OcspError::Malformed(_))
    ));
}

/// C18: a SHA-256 CertID matches the issuer; the response echoes the hash parameters form the
/// client used, absent as well as NULL.
#[test]
fn sha256_cert_id_and_parameter_forms_c18() {
    let ca = TestCa::new(KeyType::EcP256, 0);
    let issuer = IssuerId::from_certificate_der(&ca.int_der).expect("issuer id");
    let responder = ResponderIdentity::issuer(ca.int_key.public_key()).expect("responder");
    let times = Times::new();
    let mut id = sample_cert_id(&issuer, HashAlgorithm::Sha256);
    let request = parse_request(&request_der(vec![id.clone()], None)).expect("parse");
    assert!(issuer.matches(request.cert_id()));
    assert_eq!(request.cert_id().issuer_name_hash().len(), 32);
    assert_eq!(
        request.cert_id().serial(),
        Some(Serial::from_hex("0102ab").expect("serial"))
    );

    id.hash_algorithm.parameters = None;
    let request = parse_request(&request_der(vec![id.clone()], None)).expect("absent params");
    assert!(issuer.matches(request.cert_id()));
    let resp = build_response(
        &ca.int_key,
        &responder,
        &times.params(request.cert_id(), CertStatus::Good),
        None,
    )
    .expect("response");
    assert!(
        contains(&resp, &id.to_der().expect("der")),
        "absent parameters echoed"
    );

    // Another issuer's hashes do not match; another hash algorithm is unauthorized.
    let other = sample_issuer();
    assert!(!other.matches(request.cert_id()));
    let mut sha384 = id.clone();
    sha384.hash_algorithm.oid = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
    let err = parse_request(&request_der(vec![sha384], None)).expect_err("sha384");
    assert_eq!(err.response_status(), ErrorStatus::Unauthorized);
    // Wrong hash length, and parameters other than NULL.
    let mut short = id.clone();
    short.issuer_key_hash = OctetString::new(vec![0; 20]).expect("os");
    assert!(matches!(
        parse_request(&request_der(vec![short], None)),
        Err(OcspError::Malformed(_))
    ));
    let mut odd = id;
    odd.hash_algorithm.parameters = Some(Any::new(der::Tag::OctetString, vec![1]).expect("any"));
    assert!(matches!(
        parse_request(&request_der(vec![odd], None)),
        Err(OcspError::Malformed(_))
    ));
}

/// Garbage, trailing bytes, another version, no or two CertIDs: malformedRequest.
#[test]
fn malformed_requests() {
    let issuer = sample_issuer();
    let id = sample_cert_id(&issuer, HashAlgorithm::Sha1);
    let good = request_der(vec![id.clone()], None);
    assert!(parse_request(&good).is_ok());

    let mut trailing = good.clone();
    trailing.push(0);
    let mut truncated = good.clone();
    truncated.pop();
    // Version v2 (INTEGER 1) in TBSRequest's [0] EXPLICIT version field.
    let tbs_start = 2;
    let mut v2 = good.clone();
    v2.splice(tbs_start + 2..tbs_start + 2, [0xa0, 0x03, 0x02, 0x01, 0x01]);
    v2[1] += 5;
    v2[tbs_start + 1] += 5;
    for (what, der) in [
        ("empty", Vec::new()),
        ("garbage", b"not an OCSP request at all".to_vec()),
        ("trailing", trailing),
        ("truncated", truncated),
        ("v2", v2),
        ("none", request_der(vec![], None)),
        ("two", request_der(vec![id.clone(), id.clone()], None)),
    ] {
        let err = parse_request(&der).expect_err(what);
        assert!(matches!(err, OcspError::Malformed(_)), "{what}: {err}");
        assert_eq!(err.response_status(), ErrorStatus::MalformedRequest);
    }
}

/// Zero and negative serials are never a certificate of ours.
#[test]
fn serial_sign() {
    let issuer = sample_issuer();
    let mut id = sample_cert_id(&issuer, HashAlgorithm::Sha1);
    for (content, expected) in [
        (vec![0x00], None),
        (vec![0x80], None),
        (vec![0xff, 0x01], None),
        (vec![0x00, 0x80], Some("80")),
        (vec![0x7f], Some("7f")),
    ] {
        // INTEGER with this exact content.
        let mut der = vec![0x02, content.len() as u8];
        der.extend_from_slice(&content);
        id.serial_number = SerialNumber::from_der(&der).expect("serial");
        let request = parse_request(&request_der(vec![id.clone()], None)).expect("parse");
        assert_eq!(
            request.cert_id().serial().map(|s| s.to_hex()),
            expected.map(String::from),
            "{content:02x?}"
        );
    }
}

#[test]
fn get_path_decoding() {
    let issuer = sample_issuer();
    // Find a request whose base64 has '+', '/' and '=' in it.
    let (der, b64) = (0u32..)
        .map(|i| {
            let serial = Serial::from_hex(&format!("{:08x}", 0x0100_0000 + i * 7919)).expect("s");
            let id = CertId::new(&issuer, HashAlgorithm::Sha1, &serial)
                .expect("id")
                .inner;
            let der = request_der(vec![id], None);
            let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
            (der, b64)
        })
        .find(|(_, b)| b.contains('+') && b.contains('/') && b.ends_with('='))
        .expect("some serial gives all three");
    let encoded = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    assert_eq!(decode_get_path(&encoded).expect("decode"), der);
    // Unescaped, lower-case escapes, and without padding: all accepted.
    assert_eq!(decode_get_path(&b64).expect("raw"), der);
    let lower = b64
        .replace('+', "%2b")
        .replace('/', "%2f")
        .replace('=', "%3d");
    assert_eq!(decode_get_path(&lower).expect("lower"), der);
    assert_eq!(
        decode_get_path(b64.trim_end_matches('=')).expect("unpadded"),
        der
    );
    assert!(parse_request(&decode_get_path(&encoded).expect("decode")).is_ok());
    // Bad escapes and non-base64 are malformedRequest.
    for bad in ["%", "%2", "%zz", "MEQw%", "not base64!", "a-b_"] {
        assert!(
            matches!(decode_get_path(bad), Err(OcspError::Malformed(_))),
            "{bad}"
        );
    }
}

#[test]
fn error_responses_parse_in_openssl() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (status, code, name) in [
        (ErrorStatus::MalformedRequest, 1, "malformedrequest"),
        (ErrorStatus::InternalError, 2, "internalerror"),
        (ErrorStatus::TryLater, 3, "trylater"),
        (ErrorStatus::Unauthorized, 6, "unauthorized"),
    ] {
        let der = error_response(status);
        assert_eq!(der, [0x30, 0x03, 0x0a, 0x01, code]);
        let parsed = x509_ocsp::OcspResponse::from_der(&der).expect("parse");
        assert!(parsed.response_bytes.is_none());
        write(dir.path(), "err.der", &der);
        let (_, out, err) = run(
            dir.path(),
            "openssl",
            &["ocsp", "-respin", "err.der", "-resp_text"],
        );
        assert!(
            format!("{out}{err}").contains(&format!("({code})"))
                || format!("{out}{err}").to_lowercase().contains(name),
            "{out}{err}"
        );
    }
}

#[test]
fn issuer_certificates_must_be_der_certificates() {
    assert!(matches!(
        IssuerId::from_certificate_der(b"\x30\x00"),
        Err(OcspError::Certificate(_))
    ));
    let ca = TestCa::new(KeyType::EcP256, 0);
    let mut trailing = ca.int_der.clone();
    trailing.push(0);
    assert!(IssuerId::from_certificate_der(&trailing).is_err());
}
