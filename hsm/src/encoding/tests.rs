use super::*;

#[test]
fn integer_strips_leading_zeros_and_pads_top_bit() {
    assert_eq!(
        der_unsigned_integer(&[0x00, 0x00, 0x7f]),
        vec![0x02, 0x01, 0x7f]
    );
    assert_eq!(der_unsigned_integer(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
    assert_eq!(
        der_unsigned_integer(&[0x00, 0xff, 0x01]),
        vec![0x02, 0x03, 0x00, 0xff, 0x01]
    );
    assert_eq!(der_unsigned_integer(&[0x00, 0x00]), vec![0x02, 0x01, 0x00]);
}

#[test]
fn ecdsa_p256_leading_zero_r_and_high_bit_s() {
    let mut raw = vec![0u8; 64];
    raw[1] = 0x00;
    raw[2] = 0x12; // r = 00 00 12 ...: two leading zero bytes stripped
    raw[31] = 0x01;
    raw[32] = 0x80; // s has the top bit set: gets a 00 prefix
    raw[63] = 0x02;
    let der = ecdsa_raw_to_der(KeyType::EcP256, &raw).expect("encodes");
    let r_len = 30;
    assert_eq!(der[0], 0x30);
    assert_eq!(der[2], 0x02);
    assert_eq!(der[3] as usize, r_len);
    assert_eq!(der[4], 0x12);
    let s_at = 4 + r_len;
    assert_eq!(&der[s_at..s_at + 3], &[0x02, 33, 0x00]);
    assert_eq!(der[s_at + 3], 0x80);
    assert_eq!(der[1] as usize, der.len() - 2);
}

#[test]
fn ecdsa_p521_uses_long_form_length() {
    let raw = vec![0xffu8; 132];
    let der = ecdsa_raw_to_der(KeyType::EcP521, &raw).expect("encodes");
    // two INTEGERs of 67 content bytes (00 ff…): 2 * 69 = 138 > 127
    assert_eq!(&der[..3], &[0x30, 0x81, 138]);
    assert_eq!(der.len(), 141);
}

#[test]
fn ecdsa_wrong_length_is_refused() {
    assert!(ecdsa_raw_to_der(KeyType::EcP256, &[1; 63]).is_err());
    assert!(ecdsa_raw_to_der(KeyType::Rsa3072, &[1; 64]).is_err());
}

#[test]
fn ec_point_accepts_wrapped_and_raw() {
    let mut point = vec![0x04];
    point.extend_from_slice(&[7u8; 64]);
    let mut wrapped = vec![0x04, 0x41];
    wrapped.extend_from_slice(&point);
    assert_eq!(wrapped.len(), 67);
    assert_eq!(
        ec_point_from_attribute(KeyType::EcP256, &wrapped).expect("wrapped"),
        point
    );
    assert_eq!(
        ec_point_from_attribute(KeyType::EcP256, &point).expect("raw"),
        point
    );
    // compressed point or garbage: refused
    assert!(ec_point_from_attribute(KeyType::EcP256, &[0x04, 0x21, 0x02]).is_err());
    assert!(ec_point_from_attribute(KeyType::EcP256, &[0x03; 33]).is_err());
}

#[test]
fn ec_point_p521_long_form() {
    let mut point = vec![0x04];
    point.extend_from_slice(&[9u8; 132]);
    let mut wrapped = vec![0x04, 0x81, 133];
    wrapped.extend_from_slice(&point);
    assert_eq!(
        ec_point_from_attribute(KeyType::EcP521, &wrapped).expect("wrapped"),
        point
    );
}

#[test]
fn digest_info_prefix_is_51_bytes_with_hash() {
    assert_eq!(SHA256_DIGEST_INFO_PREFIX.len() + 32, 51);
}
