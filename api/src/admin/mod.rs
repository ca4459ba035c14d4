//! The admin role: clusters (key, CSR, import), EAB keys for accounts, and the inventory.
//!
//! sled allows one process per database, so admin commands must work while `fleetca serve`
//! holds the store. The CLI therefore sends each command over a Unix socket in the data
//! directory (`admin.sock`, mode 0600) with the admin token (`admin.token`, mode 0600) to the
//! running server, which executes it; when no server runs, the CLI opens the store itself and
//! executes the very same code. Either way [`Admin::execute`] does the work.
mod socket;

pub use socket::{call, serve_socket};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, ensure, Context, Result};
use fleetca_hsm::{KeyType, Pkcs11Token, RcgenSigner, Signer, SoftwareKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::info;

use crate::ca::{CaUrls, ClusterCa};
use crate::config::Config;
use crate::ra::{random_id, Clusters};
use crate::revocation::Revocation;
use crate::sa::{ClusterRecord, ClusterStatus, Der, EabRecord, KeyRef, Storage, StorageExt};

/// One admin command.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum AdminRequest {
    /// Make a cluster intermediate's key and CSR.
    ClusterAdd {
        /// Cluster name.
        name: String,
        /// Make a software key file instead of a key on the token.
        software_key: bool,
    },
    /// Import the ceremony's certificate and activate the cluster.
    ClusterImport {
        /// Cluster name.
        name: String,
        /// The intermediate certificate (PEM or base64 DER).
        cert_pem: String,
    },
    /// List clusters.
    ClusterList,
    /// Mint an EAB key for a namespace.
    AccountNew {
        /// Cluster.
        cluster: String,
        /// Namespace.
        namespace: String,
        /// Extra DNS suffixes granted.
        suffixes: Vec<String>,
    },
    /// Every certificate issued.
    Inventory,
    /// Fleet-wide revocation.
    Revoke {
        /// What to revoke.
        selector: Selector,
        /// RFC 5280 reason code.
        reason: u8,
        /// Only list what would be revoked.
        dry_run: bool,
    },
    /// Publish the root CRL from the ceremony (signature checked against the root).
    PublishRootCrl {
        /// The CRL, DER, base64.
        der_b64: String,
    },
}

/// Which certificates a revocation covers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "by", content = "value", rename_all = "kebab-case")]
pub enum Selector {
    /// One serial (hex).
    Serial(String),
    /// Every certificate, in any cluster, whose SubjectPublicKeyInfo has this SHA-256 (hex):
    /// "this key leaked".
    Key(String),
    /// Every certificate naming this DNS name, IP address or SPIFFE ID.
    Name(String),
    /// Every leaf under a cluster's intermediate.
    Cluster(String),
}

/// Why a cluster name is refused.
pub fn check_cluster_name(name: &str) -> Result<()> {
    ensure!(
        fleetca::policy::is_cluster_name(name),
        "cluster name {name:?} must be 1-63 lower-case letters, digits or '-'"
    );
    Ok(())
}

/// The admin role's state.
pub struct Admin {
    config: Config,
    store: Arc<dyn Storage>,
    clusters: Clusters,
    token: Mutex<Option<Pkcs11Token>>,
    revocation: Mutex<Option<Arc<Revocation>>>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The label of a cluster intermediate's key on the token.
pub fn key_label(cluster: &str) -> String {
    format!("fleetca-cluster-{cluster}")
}

/// The CRL, OCSP and issuer URLs of a cluster.
pub fn urls(config: &Config, cluster: &str) -> CaUrls {
    let base = config.public_base();
    CaUrls {
        crl: format!("{base}/crl/{cluster}.crl"),
        ocsp: format!("{base}/ocsp/{cluster}"),
        ca_issuers: format!("{base}/ca/{cluster}.der"),
    }
}

impl Admin {
    /// The admin role over `store`, adding activated clusters to `clusters`.
    pub fn new(
        config: Config,
        store: Arc<dyn Storage>,
        clusters: Clusters,
        token: Option<Pkcs11Token>,
    ) -> Self {
        Self {
            config,
            store,
            clusters,
            token: Mutex::new(token),
            revocation: Mutex::new(None),
        }
    }

    /// Uses the server's revocation role, so CRLs and OCSP see revocations at once.
    pub fn set_revocation(&self, r: Arc<Revocation>) {
        if let Ok(mut slot) = self.revocation.lock() {
            *slot = Some(r);
        }
    }

    /// The revocation role: the server's, or (no server running) one over the store alone;
    /// the server regenerates CRLs from the store when it starts.
    fn revocation(&self) -> Result<Arc<Revocation>> {
        let mut slot = self.revocation.lock().map_err(|_| anyhow!("poisoned"))?;
        Ok(Arc::clone(slot.get_or_insert_with(|| {
            Arc::new(Revocation::new(
                Arc::clone(&self.store),
                Arc::clone(&self.clusters),
                Default::default(),
                None,
            ))
        })))
    }

    fn token(&self) -> Result<Pkcs11Token> {
        let mut t = self
            .token
            .lock()
            .map_err(|_| anyhow!("token lock poisoned"))?;
        if t.is_none() {
            *t = Some(Pkcs11Token::open(&self.config.pkcs11()).map_err(|e| anyhow!(e))?);
        }
        t.clone().ok_or_else(|| anyhow!("no token"))
    }

    /// Loads the signer of a cluster's key.
    pub fn signer(&self, rec: &ClusterRecord) -> Result<Arc<dyn Signer>> {
        Ok(match &rec.key {
            KeyRef::Pkcs11 { label } => {
                Arc::new(self.token()?.find(label).map_err(|e| anyhow!(e))?)
            }
            KeyRef::SoftwareFile { path } => {
                let der = std::fs::read(path)
                    .with_context(|| format!("cannot read key file {}", path.display()))?;
                Arc::new(SoftwareKey::from_pkcs8(&der).map_err(|e| anyhow!(e))?)
            }
        })
    }

    /// Builds the CAs of every active cluster.
    pub fn load_clusters(&self) -> Result<HashMap<String, Arc<ClusterCa>>> {
        let mut out = HashMap::new();
        for rec in self.store.list::<ClusterRecord>("")? {
            if rec.status != ClusterStatus::Active {
                continue;
            }
            let der = rec
                .cert_der
                .clone()
                .ok_or_else(|| anyhow!("active cluster {} has no certificate", rec.name))?;
            let ca = ClusterCa::new(
                &rec.name,
                der.0,
                self.signer(&rec)?,
                urls(&self.config, &rec.name),
            )
            .map_err(|e| anyhow!("cluster {}: {e}", rec.name))?;
            out.insert(rec.name.clone(), Arc::new(ca));
        }
        Ok(out)
    }

    /// Runs one command; the result is JSON for the CLI to print.
    pub fn execute(&self, req: AdminRequest) -> Result<serde_json::Value> {
        match req {
            AdminRequest::ClusterAdd { name, software_key } => {
                self.cluster_add(&name, software_key)
            }
            AdminRequest::ClusterImport { name, cert_pem } => self.cluster_import(&name, &cert_pem),
            AdminRequest::ClusterList => self.cluster_list(),
            AdminRequest::AccountNew {
                cluster,
                namespace,
                suffixes,
            } => self.account_new(&cluster, &namespace, suffixes),
            AdminRequest::Inventory => self.inventory(),
            AdminRequest::Revoke {
                selector,
                reason,
                dry_run,
            } => self.revoke(&selector, reason, dry_run),
            AdminRequest::PublishRootCrl { der_b64 } => self.publish_root_crl(&der_b64),
        }
    }

    fn cluster_add(&self, name: &str, software_key: bool) -> Result<serde_json::Value> {
        check_cluster_name(name)?;
        ensure!(
            self.store.load::<ClusterRecord>(name)?.is_none(),
            "cluster {name} exists already"
        );
        let (signer, key): (Arc<dyn Signer>, KeyRef) = if software_key {
            let k = SoftwareKey::generate(KeyType::EcP256).map_err(|e| anyhow!(e))?;
            let dir = self.config.data_dir.join("keys");
            std::fs::create_dir_all(&dir)?;
            let path = dir.join(format!("{name}.p8"));
            ensure!(!path.exists(), "{} exists already", path.display());
            write_private(&path, k.pkcs8_der())?;
            (Arc::new(k), KeyRef::SoftwareFile { path })
        } else {
            let label = key_label(name);
            let k = self
                .token()?
                .generate(&label, KeyType::EcP256)
                .map_err(|e| anyhow!(e))?;
            (Arc::new(k), KeyRef::Pkcs11 { label })
        };
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("fleetca {name} issuing CA"),
        );
        let rcgen_signer = RcgenSigner::new(signer.as_ref())?;
        let csr = params
            .serialize_request(&rcgen_signer)
            .map_err(|e| anyhow!("cannot sign the CSR: {e}"))?;
        let csr_pem = csr.pem().map_err(|e| anyhow!("{e}"))?;
        let rec = ClusterRecord {
            name: name.to_string(),
            status: ClusterStatus::AwaitingCertificate,
            key: key.clone(),
            spki_der: Der(signer.public_key().spki_der.clone()),
            csr_pem: csr_pem.clone(),
            cert_der: None,
            created: now(),
            activated: None,
        };
        self.store.save(&rec)?;
        self.store.flush()?;
        info!(
            cluster = name,
            "cluster key made; CSR ready for the ceremony"
        );
        Ok(
            serde_json::json!({ "name": name, "status": "awaiting_certificate", "key": key, "csr_pem": csr_pem, "key_fingerprint": signer.public_key().fingerprint() }),
        )
    }

    fn cluster_import(&self, name: &str, cert_input: &str) -> Result<serde_json::Value> {
        let mut rec = self
            .store
            .load::<ClusterRecord>(name)?
            .ok_or_else(|| anyhow!("no cluster {name}; run `fleetca cluster add {name}` first"))?;
        let der = fleetca::pem::decode_one("CERTIFICATE", cert_input.as_bytes())
            .context("not a certificate")?;
        let cert = fleetca::lint::parse(&der)?;
        let spki = der::Encode::to_der(&cert.tbs_certificate.subject_public_key_info)?;
        ensure!(
            spki == rec.spki_der.0,
            "this certificate is not for cluster {name}'s key (its key fingerprint differs)"
        );
        let root_bytes = std::fs::read(&self.config.root_cert).with_context(|| {
            format!("cannot read root_cert {}", self.config.root_cert.display())
        })?;
        let root_der = fleetca::pem::decode_one("CERTIFICATE", &root_bytes)?;
        verify_issued_by(&der, &root_der).with_context(|| {
            format!(
                "the certificate does not chain to the configured root {}",
                self.config.root_cert.display()
            )
        })?;
        let root = fleetca::lint::parse(&root_der)?;
        let errors: Vec<String> = fleetca::lint::check(&cert, Some(&root))
            .into_iter()
            .filter(|f| f.severity == fleetca::lint::Severity::Error)
            .map(|f| f.to_string())
            .collect();
        ensure!(
            errors.is_empty(),
            "the certificate has lint errors: {}",
            errors.join("; ")
        );
        let ca = ClusterCa::new(
            name,
            der.clone(),
            self.signer(&rec)?,
            urls(&self.config, name),
        )
        .map_err(|e| anyhow!("{e}"))?;
        rec.cert_der = Some(Der(der));
        rec.status = ClusterStatus::Active;
        rec.activated = Some(now());
        self.store.save(&rec)?;
        self.store.flush()?;
        let not_after = ca.not_after;
        self.clusters
            .write()
            .map_err(|_| anyhow!("cluster table poisoned"))?
            .insert(name.to_string(), Arc::new(ca));
        info!(cluster = name, "cluster activated");
        Ok(
            serde_json::json!({ "name": name, "status": "active", "not_after": not_after, "directory_url": format!("{}/acme/{name}/directory", self.config.external_base()) }),
        )
    }

    fn cluster_list(&self) -> Result<serde_json::Value> {
        let mut out = Vec::new();
        for rec in self.store.list::<ClusterRecord>("")? {
            let not_after = rec
                .cert_der
                .as_ref()
                .and_then(|d| fleetca::lint::parse(&d.0).ok())
                .map(|c| {
                    c.tbs_certificate
                        .validity
                        .not_after
                        .to_unix_duration()
                        .as_secs()
                });
            out.push(serde_json::json!({ "name": rec.name, "status": rec.status, "key": rec.key, "not_after": not_after }));
        }
        Ok(serde_json::Value::Array(out))
    }

    fn account_new(
        &self,
        cluster: &str,
        namespace: &str,
        suffixes: Vec<String>,
    ) -> Result<serde_json::Value> {
        let rec = self
            .store
            .load::<ClusterRecord>(cluster)?
            .ok_or_else(|| anyhow!("no cluster {cluster}"))?;
        ensure!(
            rec.status == ClusterStatus::Active,
            "cluster {cluster} is not active yet (import its certificate first)"
        );
        ensure!(
            fleetca::policy::check_dns_syntax(&format!("{namespace}.x")).is_ok()
                && !namespace.contains('.'),
            "namespace {namespace:?} is not a Kubernetes namespace name"
        );
        // A suffix the intermediate's name constraints forbid could never be used: refuse it now.
        let permitted = match &rec.cert_der {
            Some(der) => {
                crate::ca::constraints_of(&fleetca::lint::parse(&der.0)?)
                    .0
                    .permitted_dns
            }
            None => vec![],
        };
        for s in &suffixes {
            ensure!(
                fleetca::policy::check_dns_syntax(s).is_ok() && s.contains('.'),
                "suffix {s:?} must be a fully-qualified DNS name"
            );
            let under = |p: &String| s == p || s.ends_with(&format!(".{p}"));
            ensure!(
                permitted.is_empty() || permitted.iter().any(under),
                "suffix {s:?} is outside cluster {cluster}'s name constraints ({}); certificates under it could never be issued",
                permitted.join(", ")
            );
        }
        let kid = random_id().map_err(|e| anyhow!(e.detail))?;
        let key = crate::wfe::eab::EabKey::generate(&ring::rand::SystemRandom::new())
            .map_err(|e| anyhow!("{e}"))?;
        let hmac = key.to_base64url();
        let eab = EabRecord {
            kid: kid.clone(),
            hmac_key: hmac.clone(),
            cluster: cluster.into(),
            namespace: namespace.into(),
            suffixes: suffixes.clone(),
            account_id: None,
            created: now(),
        };
        ensure!(self.store.insert_new(&eab)?, "key id collision; retry");
        self.store.flush()?;
        let directory = format!("{}/acme/{cluster}/directory", self.config.external_base());
        let root_pem = std::fs::read(&self.config.root_cert)
            .with_context(|| format!("cannot read {}", self.config.root_cert.display()))?;
        let manifest = issuer_manifest(namespace, &directory, &kid, &hmac, &root_pem);
        info!(cluster, namespace, kid = %kid, "EAB key minted");
        Ok(
            serde_json::json!({ "kid": kid, "hmac_key": hmac, "cluster": cluster, "namespace": namespace, "suffixes": suffixes, "directory_url": directory, "manifest": manifest }),
        )
    }

    fn revoke(&self, selector: &Selector, reason: u8, dry_run: bool) -> Result<serde_json::Value> {
        ensure!(
            matches!(reason, 0..=5 | 9),
            "reason {reason} is not one fleetca revokes with (0-5, 9)"
        );
        // A serial is a key lookup; the other selectors scan the inventory.
        let all: Vec<crate::sa::CertRecord> = match selector {
            Selector::Serial(s) => {
                let s = fleetca::serial::Serial::from_hex(s)?.to_hex();
                let found = self
                    .store
                    .load::<crate::sa::CertRecord>(&s)?
                    .filter(|c| !c.der.0.is_empty());
                vec![found.ok_or_else(|| anyhow!("no certificate with serial {s}"))?]
            }
            _ => self
                .store
                .list::<crate::sa::CertRecord>("")?
                .into_iter()
                .filter(|c| !c.der.0.is_empty())
                .collect(),
        };
        let matching: Vec<&crate::sa::CertRecord> = match selector {
            Selector::Serial(_) => all.iter().collect(),
            Selector::Key(h) => all
                .iter()
                .filter(|c| c.spki_sha256.eq_ignore_ascii_case(h))
                .collect(),
            Selector::Name(n) => all
                .iter()
                .filter(|c| c.names.iter().any(|x| x.eq_ignore_ascii_case(n)))
                .collect(),
            Selector::Cluster(cl) => {
                ensure!(
                    self.store.load::<ClusterRecord>(cl)?.is_some(),
                    "no cluster {cl}"
                );
                all.iter().filter(|c| &c.cluster == cl).collect()
            }
        };
        let already: Vec<String> = matching
            .iter()
            .filter(|c| c.revoked.is_some())
            .map(|c| c.serial.clone())
            .collect();
        let todo: Vec<String> = matching
            .iter()
            .filter(|c| c.revoked.is_none())
            .map(|c| c.serial.clone())
            .collect();
        let listed: Vec<serde_json::Value> = matching
            .iter()
            .map(|c| serde_json::json!({ "serial": c.serial, "cluster": c.cluster, "namespace": c.namespace, "names": c.names, "already_revoked": c.revoked.is_some() }))
            .collect();
        let mut out = serde_json::json!({ "dry_run": dry_run, "reason": reason, "certificates": listed, "already_revoked": already });
        if let Selector::Cluster(cl) = selector {
            // The intermediate itself is the root's to revoke: a ready request for the ceremony.
            if let Some(cert) = self
                .store
                .load::<ClusterRecord>(cl)?
                .and_then(|r| r.cert_der)
            {
                let parsed = fleetca::lint::parse(&cert.0)?;
                let serial = fleetca::serial::Serial::from_der_content(
                    parsed.tbs_certificate.serial_number.as_bytes(),
                )
                .to_hex();
                let reason_name = match reason {
                    1 => "keyCompromise",
                    2 => "cACompromise",
                    3 => "affiliationChanged",
                    4 => "superseded",
                    5 => "cessationOfOperation",
                    9 => "privilegeWithdrawn",
                    _ => "unspecified",
                };
                let command = format!("fleetca-ceremony --dir CEREMONY-DIR --operator NAME --pin-file ROOT-PIN-FILE revoke --serial {serial} --reason {reason_name} && fleetca-ceremony --dir CEREMONY-DIR --operator NAME --pin-file ROOT-PIN-FILE crl");
                out["ceremony_request"] = serde_json::json!({ "intermediate_serial": serial, "reason": reason_name, "command": command });
                if !dry_run {
                    let dir = self.config.data_dir.join("ceremony-requests");
                    std::fs::create_dir_all(&dir)?;
                    let path = dir.join(format!("revoke-intermediate-{cl}.json"));
                    std::fs::write(&path, serde_json::to_vec_pretty(&out["ceremony_request"])?)?;
                    out["ceremony_request_file"] = serde_json::json!(path.display().to_string());
                }
            }
        }
        if !dry_run {
            let done = self
                .revocation()?
                .revoke(&todo, reason)
                .map_err(|e| anyhow!("{e}"))?;
            out["revoked"] =
                serde_json::json!(done.iter().map(|c| c.serial.clone()).collect::<Vec<_>>());
        }
        Ok(out)
    }

    fn publish_root_crl(&self, der_b64: &str) -> Result<serde_json::Value> {
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD
            .decode(der_b64)
            .context("CRL is not base64")?;
        let root_bytes = std::fs::read(&self.config.root_cert)
            .with_context(|| format!("cannot read {}", self.config.root_cert.display()))?;
        let root = fleetca::pem::decode_one("CERTIFICATE", &root_bytes)?;
        let crl = fleetca::verify::verify_crl(&der, &root)
            .context("the CRL is not signed by the configured root")?;
        let entries = crl
            .tbs_cert_list
            .revoked_certificates
            .as_ref()
            .map_or(0, |v| v.len());
        self.revocation()?
            .publish_root_crl(der)
            .map_err(|e| anyhow!("{e}"))?;
        info!(entries, "root CRL published");
        Ok(serde_json::json!({ "published": true, "entries": entries }))
    }

    fn inventory(&self) -> Result<serde_json::Value> {
        let t = now();
        let mut out = Vec::new();
        for c in self.store.list::<crate::sa::CertRecord>("")? {
            if c.der.0.is_empty() {
                continue; // a serial reserved by an issuance that did not finish
            }
            out.push(serde_json::json!({
                "serial": c.serial, "cluster": c.cluster, "namespace": c.namespace, "names": c.names,
                "not_after": c.not_after, "expires_in_days": (c.not_after - t) / 86400,
                "revoked": c.revoked, "development_only": c.development_only,
                "purpose": purpose(&c), "spki_sha256": c.spki_sha256,
            }));
        }
        Ok(serde_json::Value::Array(out))
    }
}

/// What a certificate is for, for the inventory: the service's own certificates are told apart
/// from workloads'.
fn purpose(c: &crate::sa::CertRecord) -> &'static str {
    match (c.namespace.as_str(), c.development_only, c.names.is_empty()) {
        ("fleetca-system", true, _) => "serving certificate (development only)",
        ("fleetca-system", false, true) => "OCSP responder",
        ("fleetca-system", false, false) => "serving certificate",
        _ => "workload",
    }
}

/// Verifies that `cert` is signed by `issuer`'s key.
pub fn verify_issued_by(cert: &[u8], issuer: &[u8]) -> Result<()> {
    use x509_parser::prelude::FromDer;
    let (_, c) =
        x509_parser::certificate::X509Certificate::from_der(cert).map_err(|e| anyhow!("{e}"))?;
    let (_, i) =
        x509_parser::certificate::X509Certificate::from_der(issuer).map_err(|e| anyhow!("{e}"))?;
    if c.tbs_certificate.issuer != i.tbs_certificate.subject {
        bail!(
            "its issuer is {}, not {}",
            c.tbs_certificate.issuer,
            i.tbs_certificate.subject
        );
    }
    c.verify_signature(Some(i.public_key()))
        .map_err(|e| anyhow!("signature does not verify: {e}"))
}

fn write_private(path: &PathBuf, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// A cert-manager `Issuer` with External Account Binding and the Secret holding its HMAC key.
pub fn issuer_manifest(
    namespace: &str,
    directory: &str,
    kid: &str,
    hmac: &str,
    root_pem: &[u8],
) -> String {
    use base64::Engine;
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(root_pem);
    let secret = format!("fleetca-eab-{}", kid.to_ascii_lowercase().replace('_', "-"));
    format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: {secret}
  namespace: {namespace}
type: Opaque
stringData:
  secret: {hmac}
---
apiVersion: cert-manager.io/v1
kind: Issuer
metadata:
  name: fleetca
  namespace: {namespace}
spec:
  acme:
    server: {directory}
    caBundle: {ca_bundle}
    privateKeySecretRef:
      name: fleetca-acme-account-key
    externalAccountBinding:
      keyID: {kid}
      keySecretRef:
        name: {secret}
        key: secret
    # Names in this namespace's scope (*.{namespace}.svc.cluster.local, *.{namespace}.svc) are
    # authorised by the binding: no solver is needed. Other names need http-01.
    solvers:
      - http01:
          ingress: {{}}
"
    )
}
