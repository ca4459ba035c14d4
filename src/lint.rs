//! The rulebook: checks on certificates that both issuance (before signing) and the scanner
//! (on what a fleet already has) run, so a certificate refused at issuance is exactly one the
//! scanner would flag. Parsing uses x509-cert, which keeps the encodings (UTCTime vs
//! GeneralizedTime, criticality) that the rules are about.
use der::{Decode, Encode};
use std::net::IpAddr;
use x509_cert::ext::pkix::constraints::name::NameConstraints;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};

use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::time::Time;

use crate::policy::Identifier;
use x509_cert::Certificate;

use crate::Error;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; not wrong.
    Notice,
    /// Against good practice; some relying parties may refuse it.
    Warning,
    /// Violates RFC 5280 or fleetca policy: never issued, always flagged.
    Error,
}

/// One rule's verdict on one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Stable rule identifier, e.g. `ca.basic_constraints.critical`.
    pub rule: &'static str,
    /// How bad.
    pub severity: Severity,
    /// What exactly is wrong.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {}: {}", self.severity, self.rule, self.message)
    }
}

const OID_BC: &str = "2.5.29.19";
const OID_KU: &str = "2.5.29.15";
const OID_SKI: &str = "2.5.29.14";
const OID_AKI: &str = "2.5.29.35";
const OID_SAN: &str = "2.5.29.17";
const OID_NC: &str = "2.5.29.30";

/// Parses DER into x509-cert's certificate.
pub fn parse(der: &[u8]) -> Result<Certificate, Error> {
    Certificate::from_der(der).map_err(|e| Error::Parse(format!("certificate: {e}")))
}

fn ext<'a>(c: &'a Certificate, oid: &str) -> Option<&'a x509_cert::ext::Extension> {
    c.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id.to_string() == oid)
}

/// Subject key identifier bytes, if present.
pub fn subject_key_id(c: &Certificate) -> Option<Vec<u8>> {
    let e = ext(c, OID_SKI)?;
    SubjectKeyIdentifier::from_der(e.extn_value.as_bytes())
        .ok()
        .map(|s| s.0.as_bytes().to_vec())
}

fn unix(t: &Time) -> i64 {
    t.to_unix_duration().as_secs() as i64
}

/// Seconds since the epoch of 2050-01-01T00:00:00Z: the UTCTime/GeneralizedTime boundary.
const Y2050: i64 = 2_524_608_000;

fn check_time(out: &mut Vec<Finding>, what: &str, t: &Time) {
    let secs = unix(t);
    match t {
        Time::UtcTime(_) if secs >= Y2050 => out.push(Finding {
            rule: "validity.encoding",
            severity: Severity::Error,
            message: format!("{what} is in or after 2050 but encoded as UTCTime"),
        }),
        Time::GeneralTime(_) if secs < Y2050 => out.push(Finding {
            rule: "validity.encoding",
            severity: Severity::Error,
            message: format!(
                "{what} is before 2050 but encoded as GeneralizedTime (RFC 5280 §4.1.2.5)"
            ),
        }),
        _ => {}
    }
}

/// Runs every rule on `cert`; `issuer` (if known) enables the chaining rules.
pub fn check(cert: &Certificate, issuer: Option<&Certificate>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |rule, severity, message: String| {
        out.push(Finding {
            rule,
            severity,
            message,
        })
    };
    let tbs = &cert.tbs_certificate;

    let serial = tbs.serial_number.as_bytes();
    if serial.first().is_some_and(|b| b & 0x80 != 0) {
        push(
            "serial.positive",
            Severity::Error,
            "serial number is negative".into(),
        );
    }
    let magnitude = serial.iter().skip_while(|b| **b == 0).count();
    if serial.len() > 20 {
        push(
            "serial.length",
            Severity::Error,
            format!("serial number is {} octets (max 20)", serial.len()),
        );
    }
    if magnitude < 8 {
        push(
            "serial.entropy",
            Severity::Warning,
            format!("serial number has only {magnitude} significant octets"),
        );
    }

    let nb = unix(&tbs.validity.not_before);
    let na = unix(&tbs.validity.not_after);
    if na <= nb {
        push(
            "validity.order",
            Severity::Error,
            "notAfter is not after notBefore".into(),
        );
    }
    let mut time_findings = Vec::new();
    check_time(&mut time_findings, "notBefore", &tbs.validity.not_before);
    check_time(&mut time_findings, "notAfter", &tbs.validity.not_after);

    let bc = ext(cert, OID_BC);
    let bc_val = bc.and_then(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).ok());
    let is_ca = bc_val.as_ref().is_some_and(|b| b.ca);
    if is_ca {
        if !bc.is_some_and(|e| e.critical) {
            push(
                "ca.basic_constraints.critical",
                Severity::Error,
                "CA certificate's basicConstraints is not critical".into(),
            );
        }
        match ext(cert, OID_KU) {
            None => push(
                "ca.key_usage.missing",
                Severity::Error,
                "CA certificate has no keyUsage".into(),
            ),
            Some(e) => {
                if !e.critical {
                    push(
                        "ca.key_usage.critical",
                        Severity::Warning,
                        "CA keyUsage is not critical".into(),
                    );
                }
                match KeyUsage::from_der(e.extn_value.as_bytes()) {
                    Ok(ku) if ku.0.contains(KeyUsages::KeyCertSign) => {}
                    _ => push(
                        "ca.key_usage.cert_sign",
                        Severity::Error,
                        "CA keyUsage lacks keyCertSign".into(),
                    ),
                }
            }
        }
        if subject_key_id(cert).is_none() {
            push(
                "ca.ski.missing",
                Severity::Error,
                "CA certificate has no subjectKeyIdentifier".into(),
            );
        }
    }

    let self_issued = tbs.issuer == tbs.subject;
    let aki = ext(cert, OID_AKI)
        .and_then(|e| AuthorityKeyIdentifier::from_der(e.extn_value.as_bytes()).ok())
        .and_then(|a| a.key_identifier.map(|k| k.as_bytes().to_vec()));
    if !self_issued && aki.is_none() {
        push(
            "aki.missing",
            Severity::Error,
            "certificate is not self-issued and has no authorityKeyIdentifier".into(),
        );
    }
    if let (Some(issuer), Some(aki)) = (issuer, aki.as_ref()) {
        match subject_key_id(issuer) {
            Some(ski) if &ski == aki => {}
            Some(ski) => push(
                "aki.mismatch",
                Severity::Error,
                format!(
                    "authorityKeyIdentifier {} differs from the issuer's SKI {}",
                    hex::encode(aki),
                    hex::encode(ski)
                ),
            ),
            None => {}
        }
    }
    if let Some(issuer) = issuer {
        if na > unix(&issuer.tbs_certificate.validity.not_after) {
            push(
                "validity.beyond_issuer",
                Severity::Error,
                "notAfter is later than the issuer's notAfter".into(),
            );
        }
        if tbs.issuer != issuer.tbs_certificate.subject {
            push(
                "issuer.name_mismatch",
                Severity::Error,
                "issuer name differs from the issuer's subject".into(),
            );
        }
    }

    let subject_empty = tbs.subject.0.is_empty();
    if subject_empty {
        match ext(cert, OID_SAN) {
            None => push(
                "subject.empty_without_san",
                Severity::Error,
                "empty subject and no subjectAltName".into(),
            ),
            Some(e) if !e.critical => push(
                "subject.empty_san_not_critical",
                Severity::Error,
                "empty subject but subjectAltName is not critical (RFC 5280 §4.2.1.6)".into(),
            ),
            _ => {}
        }
    }

    if let Some(e) = ext(cert, OID_NC) {
        if !e.critical {
            push(
                "name_constraints.critical",
                Severity::Error,
                "nameConstraints is not critical".into(),
            );
        }
        match NameConstraints::from_der(e.extn_value.as_bytes()) {
            Ok(nc) => {
                let empty = |s: &Option<Vec<_>>| s.as_ref().is_some_and(|v: &Vec<_>| v.is_empty());
                if empty(&nc.permitted_subtrees) || empty(&nc.excluded_subtrees) {
                    push(
                        "name_constraints.empty_subtree",
                        Severity::Error,
                        "nameConstraints has an empty subtree list".into(),
                    );
                }
                if nc.permitted_subtrees.is_none() && nc.excluded_subtrees.is_none() {
                    push(
                        "name_constraints.empty",
                        Severity::Error,
                        "nameConstraints has neither permitted nor excluded subtrees".into(),
                    );
                }
            }
            Err(err) => push(
                "name_constraints.parse",
                Severity::Error,
                format!("nameConstraints does not parse: {err}"),
            ),
        }
        if !is_ca {
            push(
                "name_constraints.non_ca",
                Severity::Error,
                "nameConstraints on a non-CA certificate".into(),
            );
        }
    }
    if let Some(e) = ext(cert, OID_SAN) {
        match SubjectAltName::from_der(e.extn_value.as_bytes()) {
            Ok(san) => {
                for name in &san.0 {
                    let id = match name {
                        GeneralName::DnsName(d) => Identifier::Dns(d.as_str().to_string()),
                        GeneralName::IpAddress(o) => match o.as_bytes().len() {
                            4 | 16 => {
                                let b = o.as_bytes();
                                let ip = if b.len() == 4 {
                                    IpAddr::from(<[u8; 4]>::try_from(b).unwrap_or_default())
                                } else {
                                    IpAddr::from(<[u8; 16]>::try_from(b).unwrap_or_default())
                                };
                                Identifier::Ip(ip)
                            }
                            n => {
                                push(
                                    "san.ip_length",
                                    Severity::Error,
                                    format!("iPAddress SAN of {n} bytes"),
                                );
                                continue;
                            }
                        },
                        _ => continue,
                    };
                    if crate::policy::loopback_or_unspecified(&id) {
                        push("san.loopback", Severity::Error, format!("subjectAltName {id} is a loopback or unspecified name: it identifies nothing"));
                    } else if let Identifier::Dns(d) = &id {
                        if !d.trim_start_matches("*.").contains('.') {
                            push(
                                "san.unqualified",
                                Severity::Error,
                                format!("subjectAltName {d} is an unqualified single-label name"),
                            );
                        }
                    }
                }
            }
            Err(err) => push(
                "san.parse",
                Severity::Error,
                format!("subjectAltName does not parse: {err}"),
            ),
        }
    }
    out.extend(time_findings);
    out
}

/// Findings at or above `Severity::Error`.
pub fn errors(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

/// DER of the TBSCertificate, for comparing the lint copy with the real signature.
pub fn tbs_der(cert: &Certificate) -> Result<Vec<u8>, Error> {
    cert.tbs_certificate
        .to_der()
        .map_err(|e| Error::Parse(e.to_string()))
}

#[cfg(test)]
mod tests;
