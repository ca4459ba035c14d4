use super::*;

#[test]
fn name_constraints_encoding_c30() {
    let der = name_constraints_der(
        &["cluster1.example.org".into()],
        &[],
        &loopback_exclusions(),
    )
    .expect("encodes")
    .expect("non-empty");
    // SEQUENCE { [0] { SEQUENCE { [2] "cluster1.example.org" } }, [1] { ... } }
    let dns = b"cluster1.example.org";
    let pos = der
        .windows(dns.len())
        .position(|w| w == dns)
        .expect("dns present");
    assert_eq!(der[pos - 2], 0x82, "dNSName is [2] IMPLICIT IA5String");
    let v4 = [0x87, 0x08, 0x7f, 0, 0, 0, 0xff, 0, 0, 0];
    assert!(
        der.windows(v4.len()).any(|w| w == v4),
        "127.0.0.0/8 as 8 bytes"
    );
    let mut v6 = vec![0x87, 0x20];
    v6.extend_from_slice(&[0; 15]);
    v6.push(1);
    v6.extend_from_slice(&[0xff; 16]);
    assert!(
        der.windows(v6.len()).any(|w| w == v6.as_slice()),
        "::1/128 as 32 bytes"
    );
    assert_eq!(der[2], 0xa0, "permitted [0]");
}

#[test]
fn name_constraints_omit_empty_sides() {
    let der = name_constraints_der(&[], &[], &loopback_exclusions())
        .expect("ok")
        .expect("some");
    assert_eq!(der[2], 0xa1, "only excluded [1], no empty permitted");
    assert!(name_constraints_der(&[], &[], &[]).expect("ok").is_none());
}

/// FIELD-CASES C31: an imported root whose SKI is an arbitrary 8-byte value: the intermediate's
/// AKI copies those bytes exactly rather than recomputing a hash.
#[test]
fn c31_aki_copies_issuer_ski_bytes() {
    use time::macros::datetime;
    let root_key = rcgen::KeyPair::generate().expect("key");
    let mut root = CertificateParams::default();
    root.distinguished_name
        .push(DnType::CommonName, "imported root");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.key_identifier_method = KeyIdMethod::PreSpecified(vec![1, 2, 3, 4, 5, 6, 7, 8]);
    let root_cert = root.self_signed(&root_key).expect("root");
    let issuer = rcgen::Issuer::from_ca_cert_der(root_cert.der(), &root_key).expect("issuer");

    let int_key = rcgen::KeyPair::generate().expect("key");
    let spki = rcgen::PublicKeyData::subject_public_key_info(&int_key);
    let profile = IntermediateProfile {
        common_name: "cluster1 issuing CA".into(),
        organization: None,
        not_before: datetime!(2026-01-01 0:00 UTC),
        not_after: datetime!(2027-01-01 0:00 UTC),
        serial: Serial::random().expect("serial"),
        permitted_dns: vec![],
        permitted_uri_hosts: vec![],
        excluded_ip: loopback_exclusions(),
        crl_url: Some("http://pki.example.org/root.crl".into()),
        ca_issuers_url: None,
        ocsp_url: None,
    };
    let int = profile
        .params(&spki)
        .expect("params")
        .signed_by(&int_key, &issuer)
        .expect("sign");
    let root_parsed = crate::lint::parse(root_cert.der()).expect("parse");
    let int_parsed = crate::lint::parse(int.der()).expect("parse");
    assert_eq!(
        crate::lint::subject_key_id(&root_parsed),
        Some(vec![1, 2, 3, 4, 5, 6, 7, 8])
    );
    let aki = [0x80, 0x08, 1, 2, 3, 4, 5, 6, 7, 8];
    assert!(
        int.der().windows(aki.len()).any(|w| w == aki),
        "AKI keyIdentifier [0] holds the 8 bytes"
    );
    assert!(crate::lint::errors(&crate::lint::check(&int_parsed, Some(&root_parsed))).is_empty());
    // The intermediate's own SKI is RFC 5280 method 1 over its key.
    assert_eq!(
        crate::lint::subject_key_id(&int_parsed),
        Some(key_identifier(&spki).expect("ki"))
    );
}
