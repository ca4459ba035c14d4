//! Human-readable descriptions of certificates, for the ceremony's "this is what will be
//! signed" screen and the scanner's reports.
use std::fmt::Write;

use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

use crate::Error;

/// A multi-line description: subject, issuer, serial, validity, key, and every extension with
/// its criticality.
pub fn describe_certificate(der: &[u8]) -> Result<String, Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| Error::Parse(e.to_string()))?;
    let mut out = String::new();
    let tbs = &cert.tbs_certificate;
    let _ = writeln!(out, "  Subject:    {}", display_name(&tbs.subject));
    let _ = writeln!(out, "  Issuer:     {}", display_name(&tbs.issuer));
    let _ = writeln!(out, "  Serial:     {}", hex::encode(tbs.raw_serial()));
    let _ = writeln!(out, "  Not before: {}", tbs.validity.not_before);
    let _ = writeln!(out, "  Not after:  {}", tbs.validity.not_after);
    let spki = &tbs.subject_pki;
    let _ = writeln!(
        out,
        "  Key:        {} (SPKI SHA-256 {})",
        key_description(spki),
        hex::encode(ring::digest::digest(&ring::digest::SHA256, spki.raw))
    );
    let _ = writeln!(
        out,
        "  Signature:  {}",
        oid_name(&cert.signature_algorithm.algorithm)
    );
    for ext in tbs.extensions() {
        let crit = if ext.critical { " (critical)" } else { "" };
        let value = match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => format!(
                "CA:{}{}",
                bc.ca,
                bc.path_len_constraint
                    .map(|p| format!(", pathlen:{p}"))
                    .unwrap_or_default()
            ),
            ParsedExtension::KeyUsage(ku) => format!("{ku}"),
            ParsedExtension::ExtendedKeyUsage(eku) => format!("{eku:?}"),
            ParsedExtension::SubjectKeyIdentifier(ki) => hex::encode(ki.0),
            ParsedExtension::AuthorityKeyIdentifier(aki) => aki
                .key_identifier
                .as_ref()
                .map(|k| hex::encode(k.0))
                .unwrap_or_default(),
            ParsedExtension::SubjectAlternativeName(san) => san
                .general_names
                .iter()
                .map(|n| format!("{n}"))
                .collect::<Vec<_>>()
                .join(", "),
            ParsedExtension::NameConstraints(nc) => {
                let side = |t: &Option<Vec<GeneralSubtree>>| {
                    t.as_ref()
                        .map(|v| {
                            v.iter()
                                .map(|s| general_name(&s.base))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_else(|| "-".into())
                };
                format!(
                    "permitted: {}; excluded: {}",
                    side(&nc.permitted_subtrees),
                    side(&nc.excluded_subtrees)
                )
            }
            ParsedExtension::CRLDistributionPoints(cdp) => cdp
                .points
                .iter()
                .filter_map(|p| match &p.distribution_point {
                    Some(DistributionPointName::FullName(names)) => Some(
                        names
                            .iter()
                            .map(|n| format!("{n}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("; "),
            ParsedExtension::AuthorityInfoAccess(aia) => aia
                .accessdescs
                .iter()
                .map(|d| format!("{} {}", oid_name(&d.access_method), d.access_location))
                .collect::<Vec<_>>()
                .join("; "),
            _ => format!("{} bytes", ext.value.len()),
        };
        let _ = writeln!(out, "  {}{crit}: {value}", oid_name(&ext.oid));
    }
    Ok(out)
}

fn general_name(n: &GeneralName<'_>) -> String {
    match n {
        GeneralName::IPAddress(b) if b.len() == 8 => format!(
            "IP:{}.{}.{}.{}/{}",
            b[0],
            b[1],
            b[2],
            b[3],
            b[4..].iter().map(|m| m.count_ones()).sum::<u32>()
        ),
        GeneralName::IPAddress(b) if b.len() == 32 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[..16]);
            format!(
                "IP:{}/{}",
                std::net::Ipv6Addr::from(a),
                b[16..].iter().map(|m| m.count_ones()).sum::<u32>()
            )
        }
        other => format!("{other}"),
    }
}

/// A distinguished name in RFC 4514-like order as OpenSSL prints it; `(empty)` for none.
pub fn display_name(name: &X509Name<'_>) -> String {
    let s = name.to_string();
    if s.is_empty() {
        "(empty)".into()
    } else {
        s
    }
}

fn key_description(spki: &SubjectPublicKeyInfo<'_>) -> String {
    match spki.parsed() {
        Ok(PublicKey::EC(p)) => format!("EC {} bits", p.key_size()),
        Ok(PublicKey::RSA(r)) => format!("RSA {} bits", r.key_size()),
        _ => oid_name(&spki.algorithm.algorithm),
    }
}

fn oid_name(oid: &der_parser::oid::Oid<'_>) -> String {
    oid_registry::OidRegistry::default()
        .with_all_crypto()
        .with_x509()
        .get(oid)
        .map(|e| e.sn().to_string())
        .unwrap_or_else(|| oid.to_id_string())
}
