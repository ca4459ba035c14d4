//! The key types fleetca generates and signs with, and what each implies for X.509.
use std::fmt;
use std::str::FromStr;

/// A signing key's type. P-256 is the default everywhere: SoftHSM2 signs P-384 about 36× slower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// ECDSA on NIST P-256, signing with SHA-256.
    EcP256,
    /// ECDSA on NIST P-384, signing with SHA-384.
    EcP384,
    /// ECDSA on NIST P-521, signing with SHA-512. Signatures only: rcgen (ring) cannot build
    /// certificates with it.
    EcP521,
    /// RSA 3072, PKCS#1 v1.5 with SHA-256.
    Rsa3072,
    /// RSA 4096, PKCS#1 v1.5 with SHA-256.
    Rsa4096,
}

/// DER of the namedCurve OIDs (RFC 5480 §2.1.1.1), as PKCS#11 stores them in `CKA_EC_PARAMS`.
pub(crate) const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
pub(crate) const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
pub(crate) const OID_P521: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];

impl KeyType {
    /// Every key type, in the order the CLI lists them.
    pub const ALL: [Self; 5] = [
        Self::EcP256,
        Self::EcP384,
        Self::EcP521,
        Self::Rsa3072,
        Self::Rsa4096,
    ];

    /// True for the ECDSA types.
    pub fn is_ec(self) -> bool {
        matches!(self, Self::EcP256 | Self::EcP384 | Self::EcP521)
    }

    /// Byte length of one ECDSA scalar (`r` or `s`) for this curve; `None` for RSA.
    pub fn ec_scalar_len(self) -> Option<usize> {
        match self {
            Self::EcP256 => Some(32),
            Self::EcP384 => Some(48),
            Self::EcP521 => Some(66),
            Self::Rsa3072 | Self::Rsa4096 => None,
        }
    }

    /// The DER namedCurve OID (`CKA_EC_PARAMS`) for EC types.
    pub fn ec_params(self) -> Option<&'static [u8]> {
        match self {
            Self::EcP256 => Some(OID_P256),
            Self::EcP384 => Some(OID_P384),
            Self::EcP521 => Some(OID_P521),
            Self::Rsa3072 | Self::Rsa4096 => None,
        }
    }

    /// RSA modulus size in bits.
    pub fn rsa_bits(self) -> Option<u64> {
        match self {
            Self::Rsa3072 => Some(3072),
            Self::Rsa4096 => Some(4096),
            _ => None,
        }
    }

    /// The digest this key type signs with: the hash matches the curve, as X.509 profiles expect
    /// (ecdsa-with-SHA384 for P-384 and so on); RSA uses SHA-256.
    pub fn digest(self) -> &'static ring::digest::Algorithm {
        match self {
            Self::EcP256 | Self::Rsa3072 | Self::Rsa4096 => &ring::digest::SHA256,
            Self::EcP384 => &ring::digest::SHA384,
            Self::EcP521 => &ring::digest::SHA512,
        }
    }

    /// rcgen's signature algorithm for this key, where rcgen (on ring) has one.
    pub fn rcgen_algorithm(self) -> Option<&'static rcgen::SignatureAlgorithm> {
        match self {
            Self::EcP256 => Some(&rcgen::PKCS_ECDSA_P256_SHA256),
            Self::EcP384 => Some(&rcgen::PKCS_ECDSA_P384_SHA384),
            Self::Rsa3072 | Self::Rsa4096 => Some(&rcgen::PKCS_RSA_SHA256),
            Self::EcP521 => None,
        }
    }

    /// The ring verification algorithm for signatures made by this key type in X.509 form.
    pub fn ring_verify_algorithm(self) -> &'static dyn ring::signature::VerificationAlgorithm {
        match self {
            Self::EcP256 => &ring::signature::ECDSA_P256_SHA256_ASN1,
            Self::EcP384 => &ring::signature::ECDSA_P384_SHA384_ASN1,
            // ring has no P-521; callers verify those with OpenSSL.
            Self::EcP521 => &ring::signature::ECDSA_P384_SHA384_ASN1,
            Self::Rsa3072 | Self::Rsa4096 => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        }
    }

    /// The name used on the command line and in transcripts.
    pub fn name(self) -> &'static str {
        match self {
            Self::EcP256 => "p256",
            Self::EcP384 => "p384",
            Self::EcP521 => "p521",
            Self::Rsa3072 => "rsa3072",
            Self::Rsa4096 => "rsa4096",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown key type {s:?}; expected one of p256, p384, p521, rsa3072, rsa4096"
                )
            })
    }
}
