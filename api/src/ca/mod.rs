//! The certificate authority role: builds a leaf from the profile and signs it with a cluster
//! intermediate's key. It never speaks HTTP and never decides policy beyond the lint rulebook.
//!
//! Issuance order (Boulder's): reserve the serial durably, build a lint copy (same TBS, dummy
//! signature) and refuse on any lint error, sign for real, require identical TBS bytes, verify
//! the signature, then store the certificate and flush before anyone hears of it.
use std::net::IpAddr;
use std::sync::Arc;

use fleetca::lint;
use fleetca::policy::Constraints;
use fleetca::profile::LeafProfile;
use fleetca::serial::Serial;
use fleetca_hsm::{LintSigner, RcgenSigner, Signer};
use time::OffsetDateTime;

use crate::sa::{CertRecord, Der, Storage, StorageExt, StoreError};

/// Why issuance failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// The request cannot become a valid certificate (bad key, lint errors, …).
    #[error("{0}")]
    Refused(String),
    /// Signing failed (HSM unavailable, …).
    #[error("signing failed: {0}")]
    Signer(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An internal inconsistency.
    #[error("internal: {0}")]
    Internal(String),
}

/// Where relying parties find revocation information and the issuer certificate.
#[derive(Clone, Debug)]
pub struct CaUrls {
    /// CRL distribution point.
    pub crl: String,
    /// OCSP responder.
    pub ocsp: String,
    /// The intermediate certificate (DER).
    pub ca_issuers: String,
}

/// One cluster's intermediate CA, ready to sign.
#[derive(Debug)]
pub struct ClusterCa {
    /// Cluster name.
    pub name: String,
    /// Intermediate certificate DER.
    pub cert_der: Vec<u8>,
    /// Parsed intermediate certificate.
    pub cert: x509_cert::Certificate,
    /// Its name constraints, as policy needs them.
    pub constraints: Constraints,
    /// Permitted URI hosts of its name constraints: the SPIFFE trust domains it may issue for.
    pub spiffe_trust_domains: Vec<String>,
    /// Revocation and issuer URLs put in its leaves.
    pub urls: CaUrls,
    /// notAfter of the intermediate (Unix seconds): leaves never outlive it.
    pub not_after: i64,
    signer: Arc<dyn Signer>,
}

/// What to put in a leaf.
#[derive(Clone, Debug)]
pub struct LeafRequest {
    /// Subject public key (DER SPKI).
    pub spki_der: Vec<u8>,
    /// DNS names.
    pub dns_names: Vec<String>,
    /// IP addresses.
    pub ip_addresses: Vec<IpAddr>,
    /// URI SANs.
    pub uris: Vec<String>,
    /// Subject CN (must be one of the SANs).
    pub common_name: Option<String>,
    /// Validity.
    pub not_before: OffsetDateTime,
    /// Validity end (clamped to the intermediate's).
    pub not_after: OffsetDateTime,
    /// Owner (inventory).
    pub account_id: Option<String>,
    /// Namespace (inventory).
    pub namespace: String,
    /// Order (inventory).
    pub order_id: Option<String>,
    /// Development-only (loopback IPs in the serving certificate).
    pub development_only: bool,
    /// True for a delegated OCSP responder certificate (its own profile; only the CN is used).
    pub ocsp_responder: bool,
    /// Set by the RA when it has given up on this issuance (timeout): the CA then neither
    /// signs nor stores, so no certificate exists that its order does not show.
    pub cancelled: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl LeafRequest {
    fn is_cancelled(&self) -> bool {
        self.cancelled
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// Reads the intermediate's name constraints for policy.
pub fn constraints_of(cert: &x509_cert::Certificate) -> (Constraints, Vec<String>) {
    use der::Decode;
    use x509_cert::ext::pkix::constraints::name::NameConstraints;
    use x509_cert::ext::pkix::name::GeneralName;
    let mut c = Constraints::default();
    let mut uris = Vec::new();
    let Some(exts) = &cert.tbs_certificate.extensions else {
        return (c, uris);
    };
    let Some(e) = exts.iter().find(|e| e.extn_id.to_string() == "2.5.29.30") else {
        return (c, uris);
    };
    let Ok(nc) = NameConstraints::from_der(e.extn_value.as_bytes()) else {
        return (c, uris);
    };
    for s in nc.permitted_subtrees.iter().flatten() {
        match &s.base {
            GeneralName::DnsName(d) => c
                .permitted_dns
                .push(d.as_str().trim_start_matches('.').to_ascii_lowercase()),
            GeneralName::UniformResourceIdentifier(u) => uris.push(u.as_str().to_ascii_lowercase()),
            _ => {}
        }
    }
    for s in nc.excluded_subtrees.iter().flatten() {
        if let GeneralName::IpAddress(o) = &s.base {
            let b = o.as_bytes();
            let half = b.len() / 2;
            let addr = match half {
                4 => <[u8; 4]>::try_from(&b[..4]).ok().map(IpAddr::from),
                16 => <[u8; 16]>::try_from(&b[..16]).ok().map(IpAddr::from),
                _ => None,
            };
            if let Some(addr) = addr {
                let prefix = b[half..].iter().map(|m| m.count_ones()).sum::<u32>() as u8;
                c.excluded_ip.push((addr, prefix));
            }
        }
    }
    (c, uris)
}

fn spki_sha256(spki: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, spki))
}

impl ClusterCa {
    /// Builds the CA for a cluster from its certificate and key; checks they belong together.
    pub fn new(
        name: &str,
        cert_der: Vec<u8>,
        signer: Arc<dyn Signer>,
        urls: CaUrls,
    ) -> Result<Self, CaError> {
        let cert = lint::parse(&cert_der).map_err(|e| CaError::Refused(e.to_string()))?;
        let cert_spki = der::Encode::to_der(&cert.tbs_certificate.subject_public_key_info)
            .map_err(|e| CaError::Internal(e.to_string()))?;
        if cert_spki != signer.public_key().spki_der {
            return Err(CaError::Refused(format!(
                "the certificate for cluster {name} does not match its key"
            )));
        }
        let not_after = cert
            .tbs_certificate
            .validity
            .not_after
            .to_unix_duration()
            .as_secs() as i64;
        let (constraints, spiffe_trust_domains) = constraints_of(&cert);
        Ok(Self {
            name: name.to_string(),
            constraints,
            spiffe_trust_domains,
            cert,
            cert_der,
            urls,
            not_after,
            signer,
        })
    }

    /// The signing key.
    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }

    /// Issues a leaf: see the module documentation for the order of steps. Blocking (the HSM
    /// call); run it off the async executor.
    pub fn issue(&self, store: &dyn Storage, req: &LeafRequest) -> Result<CertRecord, CaError> {
        let public = rcgen::SubjectPublicKeyInfo::from_der(&req.spki_der)
            .map_err(|e| CaError::Refused(format!("unsupported public key: {e}")))?;
        let rsa_key = rcgen::PublicKeyData::algorithm(&public) == &rcgen::PKCS_RSA_SHA256;
        let intermediate_end = OffsetDateTime::from_unix_timestamp(self.not_after)
            .map_err(|e| CaError::Internal(e.to_string()))?;
        let not_after = req.not_after.min(intermediate_end);

        // 1. Reserve a unique serial, durably.
        let mut record = CertRecord {
            serial: String::new(),
            cluster: self.name.clone(),
            account_id: req.account_id.clone(),
            namespace: req.namespace.clone(),
            names: req
                .dns_names
                .iter()
                .cloned()
                .chain(req.ip_addresses.iter().map(|i| i.to_string()))
                .chain(req.uris.iter().cloned())
                .collect(),
            spki_sha256: spki_sha256(&req.spki_der),
            not_before: req.not_before.unix_timestamp(),
            not_after: not_after.unix_timestamp(),
            der: Der::default(),
            order_id: req.order_id.clone(),
            revoked: None,
            development_only: req.development_only,
            issued_at: OffsetDateTime::now_utc().unix_timestamp(),
        };
        let serial = loop {
            let s = Serial::random().map_err(|e| CaError::Internal(e.to_string()))?;
            record.serial = s.to_hex();
            if store.insert_new(&record)? {
                break s;
            }
        };
        store.flush()?;

        let profile = LeafProfile {
            dns_names: req.dns_names.clone(),
            ip_addresses: req.ip_addresses.clone(),
            uris: req.uris.clone(),
            common_name: req.common_name.clone(),
            rsa_key,
            not_before: req.not_before,
            not_after,
            serial,
            crl_url: Some(self.urls.crl.clone()),
            ocsp_url: Some(self.urls.ocsp.clone()),
            ca_issuers_url: Some(self.urls.ca_issuers.clone()),
        };
        let params = if req.ocsp_responder {
            fleetca::profile::OcspResponderProfile {
                common_name: req
                    .common_name
                    .clone()
                    .unwrap_or_else(|| format!("fleetca {} OCSP responder", self.name)),
                not_before: req.not_before,
                not_after,
                serial: profile.serial.clone(),
            }
            .params(&req.spki_der)
        } else {
            profile.params(&req.spki_der)
        }
        .map_err(|e| CaError::Refused(e.to_string()))?;

        // 2. The lint copy.
        let lint_signer = LintSigner::new(self.signer.public_key().clone());
        let lint_rcgen =
            RcgenSigner::new(&lint_signer).map_err(|e| CaError::Internal(e.to_string()))?;
        let lint_issuer =
            rcgen::Issuer::from_ca_cert_der(&self.cert_der.clone().into(), &lint_rcgen)
                .map_err(|e| CaError::Internal(e.to_string()))?;
        let lint_cert = params
            .signed_by(&public, &lint_issuer)
            .map_err(|e| CaError::Refused(e.to_string()))?;
        let lint_parsed =
            lint::parse(lint_cert.der()).map_err(|e| CaError::Internal(e.to_string()))?;
        let mut findings = lint::check(&lint_parsed, Some(&self.cert));
        if req.development_only {
            // The quick start's serving certificate names 127.0.0.1 so that it runs on one
            // laptop; it is marked development-only in the inventory. Nothing else is exempt.
            findings.retain(|f| f.rule != "san.loopback");
        }
        let errors = lint::errors(&findings);
        if !errors.is_empty() {
            let list = errors
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(CaError::Refused(format!(
                "the certificate would violate the profile: {list}"
            )));
        }

        // 3. Sign for real; same TBS; the signature verifies.
        if req.account_id.is_some() {
            test_hooks::before_signing()?;
        }
        if req.is_cancelled() {
            return Err(CaError::Internal(
                "issuance cancelled before signing".into(),
            ));
        }
        let rcgen_signer =
            RcgenSigner::new(self.signer.as_ref()).map_err(|e| CaError::Internal(e.to_string()))?;
        let issuer = rcgen::Issuer::from_ca_cert_der(&self.cert_der.clone().into(), &rcgen_signer)
            .map_err(|e| CaError::Internal(e.to_string()))?;
        let cert =
            params
                .signed_by(&public, &issuer)
                .map_err(|e| match rcgen_signer.take_error() {
                    Some(h) => CaError::Signer(h.to_string()),
                    None => CaError::Internal(e.to_string()),
                })?;
        let parsed = lint::parse(cert.der()).map_err(|e| CaError::Internal(e.to_string()))?;
        let tbs = lint::tbs_der(&parsed).map_err(|e| CaError::Internal(e.to_string()))?;
        if tbs != lint::tbs_der(&lint_parsed).map_err(|e| CaError::Internal(e.to_string()))? {
            return Err(CaError::Internal(
                "signed TBSCertificate differs from the linted one".into(),
            ));
        }
        let sig = parsed
            .signature
            .as_bytes()
            .ok_or_else(|| CaError::Internal("signature with unused bits".into()))?;
        self.signer
            .public_key()
            .verify(&tbs, sig)
            .map_err(|e| CaError::Signer(format!("signature does not verify: {e}")))?;

        if req.is_cancelled() {
            return Err(CaError::Internal(
                "issuance cancelled after signing; not stored".into(),
            ));
        }
        // 4. Durable before anyone hears of it.
        record.der = Der(cert.der().to_vec());
        store.save(&record)?;
        store.flush()?;
        Ok(record)
    }
}

/// Test-only fault injection for FIELD-CASES C04 (a slow or failing signer), off unless the
/// environment asks for it: `FLEETCA_TEST_SIGNING_DELAY_MS` delays each leaf signature and
/// `FLEETCA_TEST_SIGNING_FAIL=1` makes it fail as an unplugged HSM would.
mod test_hooks {
    use std::sync::OnceLock;
    use std::time::Duration;

    use super::CaError;

    struct Hooks {
        delay: Option<Duration>,
        fail: bool,
    }

    fn hooks() -> &'static Hooks {
        static HOOKS: OnceLock<Hooks> = OnceLock::new();
        HOOKS.get_or_init(|| Hooks {
            delay: std::env::var("FLEETCA_TEST_SIGNING_DELAY_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .map(Duration::from_millis),
            fail: std::env::var("FLEETCA_TEST_SIGNING_FAIL").is_ok_and(|v| v == "1"),
        })
    }

    pub(super) fn before_signing() -> Result<(), CaError> {
        let h = hooks();
        if let Some(d) = h.delay {
            std::thread::sleep(d);
        }
        if h.fail {
            return Err(CaError::Signer(
                "test hook FLEETCA_TEST_SIGNING_FAIL: the signer is unavailable".into(),
            ));
        }
        Ok(())
    }
}
