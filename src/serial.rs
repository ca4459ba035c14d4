//! Certificate serial numbers: positive, at most 20 octets, with at least 64 bits of entropy
//! (RFC 5280 §4.1.2.2, CA/B BR §7.1).
use ring::rand::SecureRandom;

use crate::Error;

/// A certificate serial number, kept as its big-endian magnitude.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// 16 random bytes, the first in 0x01..=0x7f: the DER INTEGER is 16 octets, positive, and
    /// has no leading zero, so every tool prints it the same way.
    pub fn random() -> Result<Self, Error> {
        let mut bytes = [0u8; 16];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::Build("no randomness for a serial number".into()))?;
        bytes[0] = (bytes[0] & 0x7f).max(1);
        Ok(Self(bytes.to_vec()))
    }

    /// Parses hex as printed by OpenSSL (`serial=` with or without colons, any case).
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        let clean: String = s
            .trim()
            .trim_start_matches("0x")
            .chars()
            .filter(|c| *c != ':')
            .collect();
        let mut bytes = hex::decode(if clean.len() % 2 == 1 {
            format!("0{clean}")
        } else {
            clean
        })
        .map_err(|_| Error::Parse(format!("serial {s:?} is not hex")))?;
        let skip = bytes
            .iter()
            .take_while(|b| **b == 0)
            .count()
            .min(bytes.len().saturating_sub(1));
        bytes.drain(..skip);
        if bytes.is_empty() || bytes.len() > 20 {
            return Err(Error::Parse(format!("serial {s:?} must be 1 to 20 octets")));
        }
        Ok(Self(bytes))
    }

    /// From the bytes of a DER INTEGER's content (a leading 00 is dropped).
    pub fn from_der_content(bytes: &[u8]) -> Self {
        let skip = bytes
            .iter()
            .take_while(|b| **b == 0)
            .count()
            .min(bytes.len().saturating_sub(1));
        Self(bytes[skip..].to_vec())
    }

    /// The magnitude's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lower-case hex without separators: the form used in file names, the store and the CLI.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// As rcgen wants it.
    pub fn to_rcgen(&self) -> rcgen::SerialNumber {
        rcgen::SerialNumber::from_slice(&self.0)
    }
}

impl std::fmt::Display for Serial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_serials_are_positive_16_octets() {
        for _ in 0..200 {
            let s = Serial::random().expect("random");
            assert_eq!(s.as_bytes().len(), 16);
            assert!(s.as_bytes()[0] >= 1 && s.as_bytes()[0] < 0x80);
        }
    }

    #[test]
    fn hex_round_trip_and_openssl_forms() {
        let s = Serial::from_hex("0A:1b:FF").expect("hex");
        assert_eq!(s.to_hex(), "0a1bff");
        assert_eq!(Serial::from_hex("a1bff").expect("odd").to_hex(), "0a1bff");
        assert!(Serial::from_hex("zz").is_err());
        assert!(Serial::from_hex(&"11".repeat(21)).is_err());
    }
}
