//! PEM armour: reading files that may hold PEM or raw DER, and writing PEM.
use crate::Error;

/// Encodes DER as PEM with the given label (`CERTIFICATE`, `X509 CRL`, …).
pub fn encode(label: &str, der: &[u8]) -> String {
    ::pem::encode_config(
        &::pem::Pem::new(label, der.to_vec()),
        ::pem::EncodeConfig::new().set_line_ending(::pem::LineEnding::LF),
    )
}

/// Reads one object: PEM with `label`, or, if the input is not PEM at all, raw DER. Detection
/// is by content, not file name.
pub fn decode_one(label: &str, input: &[u8]) -> Result<Vec<u8>, Error> {
    if looks_like_pem(input) {
        let all = ::pem::parse_many(input).map_err(|e| Error::Parse(e.to_string()))?;
        let mut matching = all.into_iter().filter(|p| p.tag() == label);
        match (matching.next(), matching.next()) {
            (Some(p), None) => Ok(p.into_contents()),
            (None, _) => Err(Error::Parse(format!("no PEM block labelled {label}"))),
            (Some(_), Some(_)) => Err(Error::Parse(format!(
                "more than one PEM block labelled {label}"
            ))),
        }
    } else if input.first() == Some(&0x30) {
        Ok(input.to_vec())
    } else {
        Err(Error::Parse(format!("neither PEM ({label}) nor DER")))
    }
}

/// Reads every PEM block with `label` in order (a chain file).
pub fn decode_all(label: &str, input: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let all = ::pem::parse_many(input).map_err(|e| Error::Parse(e.to_string()))?;
    Ok(all
        .into_iter()
        .filter(|p| p.tag() == label)
        .map(|p| p.into_contents())
        .collect())
}

fn looks_like_pem(input: &[u8]) -> bool {
    input.windows(11).any(|w| w == b"-----BEGIN ")
}
