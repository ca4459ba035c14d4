use super::*;
use rcgen::{CertificateParams, DnType, KeyPair};
use time::macros::datetime;

fn cert_with(f: impl FnOnce(&mut CertificateParams)) -> Certificate {
    let key = KeyPair::generate().expect("key");
    let mut p =
        CertificateParams::new(vec!["app.cluster1.example.org".to_string()]).expect("params");
    p.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x11; 16]));
    f(&mut p);
    let c = p.self_signed(&key).expect("sign");
    parse(c.der()).expect("parse")
}

#[test]
fn clean_leaf_has_no_errors() {
    let c = cert_with(|_| {});
    assert!(errors(&check(&c, None)).is_empty(), "{:?}", check(&c, None));
}

#[test]
fn time_encoding_c29() {
    // 2049-12-31T23:59:59Z is UTCTime, 2050-01-01 is GeneralizedTime: rcgen gets this right,
    // and the rule accepts both.
    let c = cert_with(|p| {
        p.not_before = datetime!(2025-06-01 0:00 UTC);
        p.not_after = datetime!(2049-12-31 23:59:59 UTC);
    });
    let der = c.to_der().expect("der");
    assert!(der.windows(13).any(|w| w == b"491231235959Z"));
    assert!(!check(&c, None)
        .iter()
        .any(|f| f.rule == "validity.encoding"));
    let c = cert_with(|p| p.not_after = datetime!(2050-01-01 0:00 UTC));
    let der = c.to_der().expect("der");
    assert!(der.windows(15).any(|w| w == b"20500101000000Z"));
    assert!(!check(&c, None)
        .iter()
        .any(|f| f.rule == "validity.encoding"));
}

#[test]
fn empty_subject_needs_critical_san_c32() {
    let c = cert_with(|p| p.distinguished_name = rcgen::DistinguishedName::new());
    assert!(!check(&c, None)
        .iter()
        .any(|f| f.rule.starts_with("subject.")));
    let c = cert_with(|p| p.distinguished_name.push(DnType::CommonName, "app"));
    assert!(!check(&c, None)
        .iter()
        .any(|f| f.rule.starts_with("subject.")));
}

#[test]
fn short_serial_warns() {
    let c = cert_with(|p| p.serial_number = Some(rcgen::SerialNumber::from_slice(&[1])));
    assert!(check(&c, None).iter().any(|f| f.rule == "serial.entropy"));
}

#[test]
fn loopback_and_unqualified_sans_are_errors() {
    let c = cert_with(|p| {
        p.subject_alt_names = vec![
            rcgen::SanType::DnsName("localhost".try_into().expect("ia5")),
            rcgen::SanType::IpAddress("127.0.0.1".parse().expect("ip")),
            rcgen::SanType::IpAddress("::1".parse().expect("ip")),
            rcgen::SanType::DnsName("api".try_into().expect("ia5")),
        ]
    });
    let f = check(&c, None);
    assert_eq!(
        f.iter().filter(|f| f.rule == "san.loopback").count(),
        3,
        "{f:?}"
    );
    assert_eq!(
        f.iter().filter(|f| f.rule == "san.unqualified").count(),
        1,
        "{f:?}"
    );
}
