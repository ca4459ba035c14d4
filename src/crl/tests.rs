//! CRL tests: encodings checked byte by byte, and every CRL handed to OpenSSL and pkilint.
//! Also home of [`TestCa`], the small software-key CA the OCSP tests use too.
use std::path::Path;
use std::process::Command;

use fleetca_hsm::{KeyType, RcgenSigner, SoftwareKey};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::profile::{loopback_exclusions, IntermediateProfile, LeafProfile, RootProfile};

/// The CDP URI of the test intermediate's leaves (and the CRL's IDP).
pub(crate) const CDP: &str = "http://crl.cluster1.example.org/int.crl";

/// A root, a cluster intermediate and leaves, with software keys, written as PEM into a
/// temporary directory (`root.pem`, `int.pem`, `leaf0.pem`, …) for OpenSSL.
pub(crate) struct TestCa {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) int_key: SoftwareKey,
    pub(crate) int_der: Vec<u8>,
    pub(crate) int_cert: rcgen::Certificate,
    pub(crate) leaves: Vec<(Serial, Vec<u8>)>,
}

impl TestCa {
    pub(crate) fn new(int_key_type: KeyType, leaf_count: usize) -> Self {
        Self::with_int_key(software_key(int_key_type), leaf_count)
    }

    pub(crate) fn with_int_key(int_key: SoftwareKey, leaf_count: usize) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = OffsetDateTime::now_utc();
        let root_key = SoftwareKey::generate(KeyType::EcP256).expect("root key");
        let root_signer = RcgenSigner::new(&root_key).expect("rcgen");
        let root = RootProfile {
            common_name: "fleetca test root".into(),
            organization: Some("Example Org".into()),
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(3650),
            serial: Serial::random().expect("serial"),
        }
        .params(&root_key.public_key().spki_der)
        .expect("root params")
        .self_signed(&root_signer)
        .expect("root");
        let root_issuer =
            rcgen::Issuer::from_ca_cert_der(root.der(), &root_signer).expect("root issuer");

        let int_signer = RcgenSigner::new(&int_key).expect("rcgen");
        let int = IntermediateProfile {
            common_name: "cluster1 issuing CA".into(),
            organization: Some("Example Org".into()),
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(1000),
            serial: Serial::random().expect("serial"),
            permitted_dns: vec!["cluster1.example.org".into()],
            permitted_uri_hosts: vec![],
            excluded_ip: loopback_exclusions(),
            crl_url: Some("http://crl.example.org/root.crl".into()),
            ca_issuers_url: None,
            ocsp_url: None,
        }
        .params(&int_key.public_key().spki_der)
        .expect("int params")
        .signed_by(&int_signer, &root_issuer)
        .expect("int");
        let int_issuer =
            rcgen::Issuer::from_ca_cert_der(int.der(), &int_signer).expect("int issuer");

        write(
            dir.path(),
            "root.pem",
            crate::pem::encode("CERTIFICATE", root.der()),
        );
        write(
            dir.path(),
            "int.pem",
            crate::pem::encode("CERTIFICATE", int.der()),
        );
        let mut leaves = Vec::new();
        for i in 0..leaf_count {
            let key = rcgen::KeyPair::generate().expect("leaf key");
            let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
            let serial = Serial::random().expect("serial");
            let leaf = LeafProfile {
                dns_names: vec![format!("app{i}.cluster1.example.org")],
                ip_addresses: vec![],
                uris: vec![],
                common_name: None,
                rsa_key: false,
                not_before: now - Duration::days(1),
                not_after: now + Duration::days(90),
                serial: serial.clone(),
                crl_url: Some(CDP.into()),
                ocsp_url: Some("http://ocsp.cluster1.example.org/".into()),
                ca_issuers_url: None,
            }
            .params(&spki)
            .expect("leaf params")
            .signed_by(&key, &int_issuer)
            .expect("leaf");
            write(
                dir.path(),
                &format!("leaf{i}.pem"),
                crate::pem::encode("CERTIFICATE", leaf.der()),
            );
            leaves.push((serial, leaf.der().to_vec()));
        }
        Self {
            dir,
            int_key,
            int_der: int.der().to_vec(),
            int_cert: int,
            leaves,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A software key; RSA keys come from `openssl genpkey`, since ring cannot generate them.
pub(crate) fn software_key(key_type: KeyType) -> SoftwareKey {
    if key_type.is_ec() {
        return SoftwareKey::generate(key_type).expect("key");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bits = key_type.rsa_bits().expect("rsa").to_string();
    // PEM output is PKCS#8 ("PRIVATE KEY"); DER output would be PKCS#1.
    let out = dir.path().join("key.pem");
    let status = Command::new("openssl")
        .args(["genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt"])
        .arg(format!("rsa_keygen_bits:{bits}"))
        .arg("-out")
        .arg(&out)
        .status()
        .expect("openssl is installed");
    assert!(status.success());
    let pem = std::fs::read(out).expect("key");
    let der = crate::pem::decode_one("PRIVATE KEY", &pem).expect("PKCS#8 PEM");
    SoftwareKey::from_pkcs8(&der).expect("pkcs8")
}

pub(crate) fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) {
    std::fs::write(dir.join(name), contents).expect("write");
}

/// Runs a tool in `dir`; returns (success, stdout, stderr).
pub(crate) fn run(dir: &Path, program: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Splits a DER element's content into its elements: (tag, whole TLV).
fn children(der: &[u8]) -> Vec<(u8, &[u8])> {
    let (_, len, header) = read_header(der).expect("header");
    let mut content = &der[header..header + len];
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tag, len, header) = read_header(content).expect("child header");
        out.push((tag, &content[..header + len]));
        content = &content[header + len..];
    }
    out
}

fn revoked(serial: &Serial, reason: Option<u8>) -> RevokedCert {
    RevokedCert {
        serial: serial.clone(),
        revocation_date: datetime!(2026-03-01 12:34:56.789 UTC),
        reason,
    }
}

fn params<'a>(
    issuer: &'a CrlIssuer,
    key_type: KeyType,
    revoked: &'a [RevokedCert],
) -> CrlParams<'a> {
    CrlParams {
        issuer,
        key_type,
        this_update: OffsetDateTime::now_utc() - Duration::minutes(1),
        next_update: OffsetDateTime::now_utc() + Duration::days(7),
        crl_number: 1_700_000_000_123,
        issuing_distribution_point: Some(CDP),
        revoked,
    }
}

/// Lints a DER CRL with pkilint at WARNING and above; returns its output when it finds
/// something.
fn pkilint_crl(dir: &Path, der: &[u8]) -> Option<String> {
    write(dir, "lint.crl", der);
    let (ok, out, err) = run(
        dir,
        "lint_crl",
        &[
            "lint", "-t", "CRL", "-p", "PKIX", "-s", "WARNING", "lint.crl",
        ],
    );
    (!ok || !out.trim().is_empty()).then(|| format!("{out}{err}"))
}

#[test]
fn crl_with_entries_verifies_and_prints_with_openssl() {
    let ca = TestCa::new(KeyType::EcP256, 3);
    let issuer = CrlIssuer::from_certificate_der(&ca.int_der).expect("issuer");
    let other = Serial::from_hex("00ff01").expect("serial"); // top bit set: 00 pad in DER
    let entries = vec![
        revoked(&ca.leaves[0].0, Some(1)),
        revoked(&ca.leaves[1].0, Some(0)),
        revoked(&other, None),
        revoked(&Serial::from_hex("1234").expect("serial"), Some(4)),
    ];
    let crl = build_crl(&params(&issuer, KeyType::EcP256, &entries), &ca.int_key).expect("crl");
    write(ca.dir.path(), "int.crl", &crl);
    write(
        ca.dir.path(),
        "int.crl.pem",
        crate::pem::encode("X509 CRL", &crl),
    );

    let (ok, out, err) = run(
        ca.dir.path(),
        "openssl",
        &[
            "crl", "-inform", "DER", "-in", "int.crl", "-noout", "-text", "-CAfile", "int.pem",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(err.contains("verify OK"), "{err}");
    assert!(out.contains("Version 2 (0x1)"), "{out}");
    assert!(
        out.contains("Signature Algorithm: ecdsa-with-SHA256"),
        "{out}"
    );
    for serial in [&ca.leaves[0].0, &ca.leaves[1].0, &other] {
        assert!(
            out.contains(&format!(
                "Serial Number: {}",
                serial.to_hex().to_uppercase()
            )),
            "{serial} listed: {out}"
        );
    }
    assert!(out.contains("Key Compromise"), "{out}");
    assert!(out.contains("Superseded"), "{out}");
    assert_eq!(
        out.matches("X509v3 CRL Reason Code").count(),
        2,
        "no reason line for unspecified or absent: {out}"
    );
    assert!(
        out.contains("X509v3 CRL Number: \n                1700000000123"),
        "{out}"
    );
    let aki = issuer
        .key_identifier()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    assert!(out.contains(&aki), "AKI {aki} in {out}");
    assert!(
        out.contains("X509v3 Issuing Distribution Point: critical"),
        "{out}"
    );
    assert!(out.contains(&format!("URI:{CDP}")), "{out}");

    // Relying-party view: the revoked leaf is error 23, a leaf not listed verifies.
    for (i, revoked) in [(0, true), (2, false)] {
        let leaf = format!("leaf{i}.pem");
        let (ok, out, err) = run(
            ca.dir.path(),
            "openssl",
            &[
                "verify",
                "-crl_check",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "int.pem",
                "-CRLfile",
                "int.crl.pem",
                &leaf,
            ],
        );
        if revoked {
            assert!(
                !ok && format!("{out}{err}").contains("error 23"),
                "{out}{err}"
            );
        } else {
            assert!(ok, "{out}{err}");
        }
    }
    assert_eq!(pkilint_crl(ca.dir.path(), &crl), None);
}

/// C23: an empty CRL has no revokedCertificates at all: nextUpdate is followed by `A0`.
#[test]
fn c23_empty_crl_omits_revoked_certificates() {
    let ca = TestCa::new(KeyType::EcP256, 0);
    let issuer = CrlIssuer::from_certificate_der(&ca.int_der).expect("issuer");
    let tbs = encode_tbs(&params(&issuer, KeyType::EcP256, &[])).expect("tbs");
    let fields = children(&tbs);
    let tags: Vec<u8> = fields.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        tags,
        [0x02, 0x30, 0x30, 0x17, 0x17, 0xa0],
        "no 30 00 after nextUpdate"
    );
    assert_eq!(fields[0].1, [0x02, 0x01, 0x01], "version v2");
    assert!(!tbs.windows(2).any(|w| w == [0x30, 0x00]));

    let crl = sign_crl(&tbs, &ca.int_key).expect("sign");
    write(ca.dir.path(), "empty.crl", &crl);
    let (ok, out, err) = run(
        ca.dir.path(),
        "openssl",
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "empty.crl",
            "-noout",
            "-text",
            "-CAfile",
            "int.pem",
        ],
    );
    assert!(ok && err.contains("verify OK"), "{out}{err}");
    assert!(out.contains("No Revoked Certificates."), "{out}");
    assert_eq!(pkilint_crl(ca.dir.path(), &crl), None);
}

/// C23/C24: an entry with reason unspecified (or none) is serial + date only; a reason adds
/// one reasonCode extension.
#[test]
fn entries_carry_extensions_only_for_a_reason() {
    let ca = TestCa::new(KeyType::EcP256, 0);
    let issuer = CrlIssuer::from_certificate_der(&ca.int_der).expect("issuer");
    let serial = Serial::from_hex("7f0102").expect("serial");
    let entries = [
        revoked(&serial, None),
        revoked(&serial, Some(0)),
        revoked(&serial, Some(1)),
    ];
    let tbs = encode_tbs(&params(&issuer, KeyType::EcP256, &entries)).expect("tbs");
    let list = children(&tbs)[5].1;
    let entries: Vec<_> = children(list)
        .into_iter()
        .map(|(_, e)| e.to_vec())
        .collect();
    let date = b"260301123456Z";
    let mut plain = vec![0x30, 0x14, 0x02, 0x03, 0x7f, 0x01, 0x02, 0x17, 0x0d];
    plain.extend_from_slice(date);
    assert_eq!(entries[0], plain);
    assert_eq!(entries[1], plain);
    let mut with_reason = vec![0x30, 0x22, 0x02, 0x03, 0x7f, 0x01, 0x02, 0x17, 0x0d];
    with_reason.extend_from_slice(date);
    with_reason.extend_from_slice(&[
        0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, 0x01,
    ]);
    assert_eq!(entries[2], with_reason);
}

/// C29: UTCTime through 2049-12-31T23:59:59Z, GeneralizedTime from 2050.
#[test]
fn c29_time_forms() {
    let mut buf = Vec::new();
    push_time(&mut buf, datetime!(2049-12-31 23:59:59.999 UTC));
    assert_eq!(buf, b"\x17\x0d491231235959Z");
    buf.clear();
    push_time(&mut buf, datetime!(2050-01-01 00:00:00 UTC));
    assert_eq!(buf, b"\x18\x0f20500101000000Z");
    buf.clear();
    push_time(&mut buf, datetime!(2026-06-01 02:00:00 +02:00));
    assert_eq!(buf, b"\x17\x0d260601000000Z", "converted to Z");
    assert!(time_tlv_len(datetime!(1949-12-31 23:59:59 UTC)).is_err());

    let ca = TestCa::new(KeyType::EcP256, 0);
    let issuer = CrlIssuer::from_certificate_der(&ca.int_der).expect("issuer");
    let mut p = params(&issuer, KeyType::EcP256, &[]);
    p.next_update = datetime!(2050-06-01 00:00:00 UTC);
    let crl = build_crl(&p, &ca.int_key).expect("crl");
    write(ca.dir.path(), "c29.crl", &crl);
    let (ok, out, err) = run(
        ca.dir.path(),
        "openssl",
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "c29.crl",
            "-noout",
            "-nextupdate",
        ],
    );
    assert!(ok && out.contains("2050 GMT"), "{out}{err}");
}

/// Issue 4's size target: at most 40 bytes per entry. fleetca serials are 16 octets, which
/// makes an entry without a reason 35 bytes and one with a reasonCode 49; this list gives
/// one entry in ten a reason.
#[test]
fn hundred_thousand_entries_fit_40_bytes_each_and_parse() {
    let ca = TestCa::new(KeyType::EcP256, 0);
    let issuer = CrlIssuer::from_certificate_der(&ca.int_der).expect("issuer");
    let entries: Vec<RevokedCert> = (0..100_000u32)
        .map(|i| RevokedCert {
            serial: Serial::random().expect("serial"),
            revocation_date: datetime!(2026-03-01 00:00:00 UTC) + Duration::seconds(i.into()),
            reason: (i % 10 == 0).then_some(1),
        })
        .collect();
    let empty = encode_tbs(&params(&issuer, KeyType::EcP256, &[])).expect("tbs");
    let tbs = encode_tbs(&params(&issuer, KeyType::EcP256, &entries)).expect("tbs");
    let per_entry = (tbs.len() - empty.len()) as f64 / entries.len() as f64;
    assert!(per_entry <= 40.0, "{per_entry} bytes per entry");
    assert_eq!(tbs.len(), tbs.capacity(), "buffer pre-sized exactly");

    let crl = sign_crl(&tbs, &ca.int_key).expect("sign");
    write(ca.dir.path(), "big.crl", &crl);
    let (ok, out, err) = run(
        ca.dir.path(),
        "openssl",
        &[
            "crl", "-inform", "DER", "-in", "big.crl", "-noout", "-CAfile", "int.pem",
        ],
    );
    assert!(ok && err.contains("verify OK"), "{out}{err}");
    let (_, parsed) =
        x509_parser::revocation_list::CertificateRevocationList::from_der(&crl).expect("parse");
    assert_eq!(parsed.iter_revoked_certificates().count(), 100_000);
}

#[test]
fn p384_and_rsa_signatures_verify() {
    for (key_type, name) in [
        (KeyType::EcP384, "ecdsa-with-SHA384"),
        (KeyType::Rsa3072, "sha256WithRSAEncryption"),
    ] {
        let ca = TestCa::new(key_type, 1);
        let issuer = CrlIssuer::from_certificate_der(&ca.int_der).expect("issuer");
        let entries = [revoked(&ca.leaves[0].0, Some(5))];
        let crl = build_crl(&params(&issuer, key_type, &entries), &ca.int_key).expect("crl");
        write(ca.dir.path(), "int.crl", &crl);
        let (ok, out, err) = run(
            ca.dir.path(),
            "openssl",
            &[
                "crl", "-inform", "DER", "-in", "int.crl", "-noout", "-text", "-CAfile", "int.pem",
            ],
        );
        assert!(ok && err.contains("verify OK"), "{key_type}: {out}{err}");
        assert!(out.contains(name), "{key_type}: {out}");
        assert!(out.contains("Cessation Of Operation"), "{out}");
        assert_eq!(pkilint_crl(ca.dir.path(), &crl), None, "{key_type}");
    }
}

#[test]
fn bad_parameters_are_refused() {
    let ca = TestCa::new(KeyType::EcP256, 1);
    let issuer = CrlIssuer::from_certificate_der(&ca.int_der).expect("issuer");
    let serial = Serial::from_hex("01").expect("serial");
    for code in [7, 8, 11] {
        let entries = [revoked(&serial, Some(code))];
        assert!(
            matches!(
                encode_tbs(&params(&issuer, KeyType::EcP256, &entries)),
                Err(CrlError::Invalid(_))
            ),
            "reason {code}"
        );
    }
    let zero = [revoked(&Serial::from_der_content(&[0]), None)];
    assert!(encode_tbs(&params(&issuer, KeyType::EcP256, &zero)).is_err());
    let long = [revoked(&Serial::from_der_content(&[0x11; 21]), None)];
    assert!(encode_tbs(&params(&issuer, KeyType::EcP256, &long)).is_err());

    let mut p = params(&issuer, KeyType::EcP256, &[]);
    p.next_update = p.this_update;
    assert!(matches!(encode_tbs(&p), Err(CrlError::Invalid(_))));
    let mut p = params(&issuer, KeyType::EcP256, &[]);
    p.issuing_distribution_point = Some("http://bad\u{e9}.example/");
    assert!(matches!(encode_tbs(&p), Err(CrlError::Invalid(_))));

    // The TBS names P-384 but a P-256 key signs: refused before signing.
    let tbs = encode_tbs(&params(&issuer, KeyType::EcP384, &[])).expect("tbs");
    assert!(matches!(
        sign_crl(&tbs, &ca.int_key),
        Err(CrlError::Algorithm(_))
    ));
    assert!(matches!(
        sign_crl(&[0x30, 0x05, 0x02], &ca.int_key),
        Err(CrlError::Invalid(_))
    ));
    // A leaf (keyUsage digitalSignature only) cannot issue CRLs.
    assert!(matches!(
        CrlIssuer::from_certificate_der(&ca.leaves[0].1),
        Err(CrlError::Issuer(_))
    ));
    assert!(matches!(
        CrlIssuer::from_certificate_der(b"garbage"),
        Err(CrlError::Issuer(_))
    ));
}

#[test]
fn crl_number_encoding_is_minimal_and_positive() {
    let mut buf = Vec::new();
    push_uint(&mut buf, &[]);
    assert_eq!(buf, [0x02, 0x01, 0x00]);
    buf.clear();
    push_uint(&mut buf, &[0x80]);
    assert_eq!(buf, [0x02, 0x02, 0x00, 0x80]);
    let ca = TestCa::new(KeyType::EcP256, 0);
    let issuer = CrlIssuer::from_certificate_der(&ca.int_der).expect("issuer");
    let mut p = params(&issuer, KeyType::EcP256, &[]);
    p.crl_number = u128::MAX;
    let tbs = encode_tbs(&p).expect("tbs");
    let mut number = vec![0x02, 0x11, 0x00];
    number.extend_from_slice(&[0xff; 16]);
    assert!(
        tbs.windows(number.len()).any(|w| w == number),
        "17 octets, within 20"
    );
}

#[test]
fn long_form_lengths() {
    for len in [0usize, 127, 128, 255, 256, 65_535, 65_536, 40_000_000] {
        let mut buf = Vec::new();
        push_header(&mut buf, 0x30, len);
        assert_eq!(buf.len(), 1 + len_len(len), "{len}");
        let mut der = buf.clone();
        der.resize(buf.len() + len, 0);
        assert_eq!(read_header(&der), Some((0x30, len, buf.len())), "{len}");
    }
    let mut buf = Vec::new();
    push_header(&mut buf, 0x30, 0x0102_0304);
    assert_eq!(buf, [0x30, 0x84, 0x01, 0x02, 0x03, 0x04]);
}
