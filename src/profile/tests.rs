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
