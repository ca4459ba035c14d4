//! FIELD-CASES C26: public-key and signature encodings between PKCS#11 and X.509, on a real
//! SoftHSM2 token, checked by ring and OpenSSL.
mod common;

use std::sync::OnceLock;

use common::*;
use fleetca::profile::RootProfile;
use fleetca::serial::Serial;
use fleetca_hsm::{
    KeyType, PinSource, Pkcs11Config, Pkcs11Token, RcgenSigner, RsaMechanism, Signer,
};
use time::{Duration, OffsetDateTime};

/// One token store for the whole test binary: SOFTHSM2_CONF must be set before the module is
/// first initialised, and a module is initialised once per process.
fn token() -> &'static Pkcs11Token {
    static TOKEN: OnceLock<(SoftHsm, Pkcs11Token)> = OnceLock::new();
    &TOKEN
        .get_or_init(|| {
            let hsm = SoftHsm::new();
            std::env::set_var("SOFTHSM2_CONF", hsm.conf());
            let token = Pkcs11Token::open(&Pkcs11Config {
                module: SOFTHSM_MODULE.into(),
                token_label: "fleetca-issuing".into(),
                pin: PinSource::File(hsm.pin_file("fleetca-issuing")),
            })
            .expect("open token");
            (hsm, token)
        })
        .1
}

fn work_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Splits a DER ECDSA-Sig-Value into the contents of its two INTEGERs.
fn integers(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (body, _) = if der[1] & 0x80 != 0 {
        (&der[3..], 0)
    } else {
        (&der[2..], 0)
    };
    let r_len = body[1] as usize;
    let r = body[2..2 + r_len].to_vec();
    let s_body = &body[2 + r_len..];
    let s_len = s_body[1] as usize;
    assert_eq!(s_body.len(), 2 + s_len, "nothing after s");
    (r, s_body[2..2 + s_len].to_vec())
}

#[derive(Default)]
struct Shapes {
    stripped: usize,
    padded: usize,
}

/// Checks an ECDSA signature is minimal DER and notes which edge cases it exercised.
fn check_minimal(key_type: KeyType, der: &[u8], shapes: &mut Shapes) {
    assert_eq!(der[0], 0x30);
    let n = key_type.ec_scalar_len().expect("ec");
    let (r, s) = integers(der);
    for v in [r, s] {
        assert!(!v.is_empty());
        if v[0] == 0 {
            assert!(
                v.len() > 1 && v[1] & 0x80 != 0,
                "a 00 prefix only before a high bit"
            );
            assert!(v.len() <= n + 1);
            shapes.padded += 1;
            if v.len() < n + 1 {
                shapes.stripped += 1;
            }
        } else {
            assert!(v[0] & 0x80 == 0, "positive");
            if v.len() < n {
                shapes.stripped += 1;
            }
        }
    }
}

#[test]
fn c26_key_generation_attributes_and_spki() {
    let t = token();
    for (key_type, point_len, curve) in [
        (KeyType::EcP256, 65, "P-256"),
        (KeyType::EcP384, 97, "P-384"),
        (KeyType::EcP521, 133, "P-521"),
        (KeyType::Rsa3072, 0, "3072 bit"),
        (KeyType::Rsa4096, 0, "4096 bit"),
    ] {
        let key = t
            .generate(&format!("c26-attrs-{key_type}"), key_type)
            .expect("generate");
        let a = key.attributes().expect("attributes");
        assert!(
            a.token
                && a.private
                && a.sensitive
                && !a.extractable
                && a.always_sensitive
                && a.never_extractable,
            "{key_type}: {a:?}"
        );
        let public = key.public_key();
        if key_type.is_ec() {
            // CKA_EC_POINT (04 41 04‖X‖Y for P-256) was unwrapped to the bare point.
            assert_eq!(public.bits.len(), point_len, "{key_type}");
            assert_eq!(public.bits[0], 0x04);
        }
        // OpenSSL reads the SPKI we built.
        let dir = work_dir();
        let spki = dir.path().join("pub.der");
        std::fs::write(&spki, &public.spki_der).expect("write");
        let out = ok(openssl(dir.path())
            .args(["pkey", "-pubin", "-inform", "DER", "-noout", "-text", "-in"])
            .arg(&spki));
        assert!(out.contains(curve), "{key_type}: {out}");
        // Finding by label returns the same key; a second key with the label is refused.
        let again = t.find(&format!("c26-attrs-{key_type}")).expect("find");
        assert_eq!(again.public_key(), public);
        assert!(t
            .generate(&format!("c26-attrs-{key_type}"), key_type)
            .is_err());
    }
    assert!(t.find("no-such-key").is_err());
}

/// 500+ certificates per key type signed on the token: every one verifies with ring and with
/// OpenSSL, the signature hash matches the key (ecdsa-with-SHA384 for P-384), and the set
/// includes r/s values with stripped leading zeros and with a 00 pad before a high bit.
#[test]
fn c26_many_certificates_per_key_type_verify() {
    let t = token();
    for (key_type, sig_alg) in [
        (KeyType::EcP256, "ecdsa-with-SHA256"),
        (KeyType::EcP384, "ecdsa-with-SHA384"),
        (KeyType::Rsa3072, "sha256WithRSAEncryption"),
    ] {
        let key = t
            .generate(&format!("c26-certs-{key_type}"), key_type)
            .expect("generate");
        let now = OffsetDateTime::now_utc();
        let root = RootProfile {
            common_name: format!("c26 {key_type} root"),
            organization: None,
            not_before: now,
            not_after: now + Duration::days(30),
            serial: Serial::random().expect("serial"),
        };
        let signer = RcgenSigner::new(&key).expect("signer");
        let root_params = root.params(&key.public_key().spki_der).expect("params");
        let root_cert = root_params.self_signed(&signer).expect("self-sign");
        let issuer = rcgen::Issuer::new(root_params, &signer);
        let dir = work_dir();
        std::fs::write(dir.path().join("root.pem"), root_cert.pem()).expect("write");
        let text = ok(openssl(dir.path()).args(["x509", "-noout", "-text", "-in", "root.pem"]));
        assert!(
            text.contains(&format!("Signature Algorithm: {sig_alg}")),
            "{text}"
        );

        let mut shapes = Shapes::default();
        let mut files = Vec::new();
        let mut n = 0;
        while n < 500
            || (key_type.is_ec() && (shapes.stripped == 0 || shapes.padded == 0) && n < 5000)
        {
            let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
            let mut p = rcgen::CertificateParams::new(vec![format!("n{n}.cluster1.example.org")])
                .expect("params");
            p.not_before = now;
            p.not_after = now + Duration::days(1);
            let cert = p.signed_by(&leaf_key, &issuer).expect("sign");
            let parsed = fleetca::lint::parse(cert.der()).expect("parse");
            let sig = parsed.signature.as_bytes().expect("sig");
            key.public_key()
                .verify(&fleetca::lint::tbs_der(&parsed).expect("tbs"), sig)
                .expect("ring verifies");
            if key_type.is_ec() {
                check_minimal(key_type, sig, &mut shapes);
            }
            if n < 500 {
                let f = format!("c{n}.pem");
                std::fs::write(dir.path().join(&f), cert.pem()).expect("write");
                files.push(f);
            }
            n += 1;
        }
        if key_type.is_ec() {
            assert!(
                shapes.stripped > 0 && shapes.padded > 0,
                "{key_type}: edge cases seen in {n} signatures"
            );
        }
        let out = ok(openssl(dir.path())
            .args(["verify", "-CAfile", "root.pem"])
            .args(&files));
        assert_eq!(
            out.matches(": OK").count(),
            500,
            "{key_type}: every certificate verifies with OpenSSL"
        );
    }
}

/// P-521 on the token: rcgen (ring) cannot build certificates with it, but the signature path
/// (SHA-512, 66-byte scalars, long-form DER length) is exercised and checked by OpenSSL.
#[test]
fn c26_p521_signatures_verify_with_openssl() {
    let t = token();
    let key = t.generate("c26-p521", KeyType::EcP521).expect("generate");
    assert!(
        RcgenSigner::new(&key).is_err(),
        "P-521 is refused for X.509 with a clear error"
    );
    let dir = work_dir();
    std::fs::write(dir.path().join("pub.der"), &key.public_key().spki_der).expect("write");
    let mut shapes = Shapes::default();
    for i in 0..40 {
        let msg = format!("message {i}");
        let sig = key.sign(msg.as_bytes()).expect("sign");
        check_minimal(KeyType::EcP521, &sig, &mut shapes);
        std::fs::write(dir.path().join("msg"), &msg).expect("write");
        std::fs::write(dir.path().join("sig"), &sig).expect("write");
        let out = ok(openssl(dir.path()).args([
            "dgst",
            "-sha512",
            "-keyform",
            "DER",
            "-verify",
            "pub.der",
            "-signature",
            "sig",
            "msg",
        ]));
        assert!(out.contains("Verified OK"), "{out}");
    }
}

/// RSA through CKM_RSA_PKCS over a host-built DigestInfo gives the same PKCS#1 v1.5 signature
/// as CKM_SHA256_RSA_PKCS.
#[test]
fn c26_rsa_pkcs_digest_info_matches_sha256_rsa_pkcs() {
    let t = token();
    let key = t
        .generate("c26-rsa-mech", KeyType::Rsa3072)
        .expect("generate");
    let raw = key
        .clone()
        .with_rsa_mechanism(RsaMechanism::RsaPkcsDigestInfo);
    let hashed = key.with_rsa_mechanism(RsaMechanism::Sha256RsaPkcs);
    let msg = b"the same message";
    let a = raw.sign(msg).expect("CKM_RSA_PKCS");
    let b = hashed.sign(msg).expect("CKM_SHA256_RSA_PKCS");
    assert_eq!(a, b, "PKCS#1 v1.5 is deterministic: both mechanisms agree");
    raw.public_key().verify(msg, &a).expect("ring verifies");
}
