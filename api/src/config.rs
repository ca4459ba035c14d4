//! The service's configuration file (TOML). Unknown keys are refused and every error names the
//! field, so a typo never silently falls back to a default.
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use fleetca_hsm::{PinSource, Pkcs11Config};
use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory for the sled store, the admin socket and the admin token. Relative paths in
    /// this file are relative to the file's own directory.
    pub data_dir: PathBuf,
    /// The offline root's certificate (from the ceremony): intermediates must chain to it.
    pub root_cert: PathBuf,
    /// The HTTPS listener (ACME).
    pub server: ServerConfig,
    /// The optional plain-HTTP listener for CRLs and OCSP.
    #[serde(default)]
    pub public: Option<PublicConfig>,
    /// The PKCS#11 token holding the cluster intermediates' keys.
    pub hsm: HsmConfig,
    /// Leaf certificate settings.
    #[serde(default)]
    pub issuance: IssuanceConfig,
    /// Challenge validation settings.
    #[serde(default)]
    pub challenges: ChallengeConfig,
    /// CRL and OCSP settings.
    #[serde(default)]
    pub revocation: crate::revocation::RevocationConfig,
}

/// The HTTPS listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `127.0.0.1:8443`.
    pub listen: SocketAddr,
    /// The URL clients use to reach this listener: the base of every ACME URL.
    pub external_url: String,
    /// The service's DNS name, put in its serving certificate.
    pub dns_name: String,
    /// The cluster whose intermediate issues the serving certificate.
    pub tls_cluster: String,
    /// Development only: also put these IP addresses in the serving certificate, so that the
    /// quick start runs on one laptop. The certificate is marked development-only in the
    /// inventory.
    #[serde(default)]
    pub dev_ip_addresses: Vec<IpAddr>,
}

/// The plain-HTTP listener for CRLs and OCSP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The URL relying parties use (the base of CDP and AIA URLs in certificates).
    pub url: String,
}

/// The token with the intermediates' keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HsmConfig {
    /// PKCS#11 module path.
    #[serde(default = "default_module")]
    pub module: PathBuf,
    /// Token label.
    #[serde(default = "default_token")]
    pub token: String,
    /// Environment variable with the user PIN.
    #[serde(default)]
    pub pin_env: Option<String>,
    /// File with the user PIN.
    #[serde(default)]
    pub pin_file: Option<PathBuf>,
}

fn default_module() -> PathBuf {
    PathBuf::from("/usr/lib/softhsm/libsofthsm2.so")
}

fn default_token() -> String {
    "fleetca-issuing".to_string()
}

/// Leaf certificate settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuanceConfig {
    /// Lifetime when the order does not ask for one.
    pub default_days: i64,
    /// The longest lifetime an order may ask for.
    pub max_days: i64,
    /// The clusters' DNS domain.
    pub cluster_domain: String,
}

impl Default for IssuanceConfig {
    fn default() -> Self {
        Self {
            default_days: fleetca::profile::LEAF_VALIDITY_DAYS,
            max_days: fleetca::profile::LEAF_VALIDITY_DAYS,
            cluster_domain: "cluster.local".into(),
        }
    }
}

/// http-01 validation settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChallengeConfig {
    /// Port the validator connects to (80 in production; a loopback port in tests).
    pub http01_port: u16,
    /// Name → address overrides for validation (tests on loopback); other names use DNS.
    #[serde(default)]
    pub resolve: BTreeMap<String, IpAddr>,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        Self {
            http01_port: 80,
            resolve: BTreeMap::new(),
        }
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let mut config: Self =
            toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut config.data_dir);
        resolve(&mut config.root_cert);
        if let Some(p) = config.hsm.pin_file.as_mut() {
            resolve(p);
        }
        config
            .validate()
            .with_context(|| format!("invalid config {}", path.display()))?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if !self.server.external_url.starts_with("https://") {
            bail!(
                "server.external_url must be an https:// URL, got {:?}",
                self.server.external_url
            );
        }
        if let Some(p) = &self.public {
            if !p.url.starts_with("http://") {
                bail!("public.url must be an http:// URL (relying parties fetch CRLs over plain HTTP), got {:?}", p.url);
            }
        }
        if fleetca::policy::check_dns_syntax(&self.server.dns_name).is_err()
            || fleetca::policy::name_is_loopback(&self.server.dns_name)
        {
            bail!(
                "server.dns_name must be a fully-qualified DNS name, got {:?}",
                self.server.dns_name
            );
        }
        if self.issuance.default_days < 1 || self.issuance.max_days < self.issuance.default_days {
            bail!("issuance.default_days must be at least 1 and at most issuance.max_days");
        }
        if self.hsm.pin_env.is_some() && self.hsm.pin_file.is_some() {
            bail!("hsm: give pin_env or pin_file, not both");
        }
        Ok(())
    }

    /// The PKCS#11 token settings.
    pub fn pkcs11(&self) -> Pkcs11Config {
        let pin = match (&self.hsm.pin_file, &self.hsm.pin_env) {
            (Some(f), _) => PinSource::File(f.clone()),
            (None, Some(v)) => PinSource::Env(v.clone()),
            (None, None) => PinSource::Env("FLEETCA_ISSUING_PIN".into()),
        };
        Pkcs11Config {
            module: self.hsm.module.clone(),
            token_label: self.hsm.token.clone(),
            pin,
        }
    }

    /// Base URL for CRL and OCSP links in certificates: the plain-HTTP listener if configured,
    /// else the HTTPS one.
    pub fn public_base(&self) -> String {
        self.public
            .as_ref()
            .map_or_else(|| self.server.external_url.clone(), |p| p.url.clone())
            .trim_end_matches('/')
            .to_string()
    }

    /// Base URL of the ACME and admin endpoints.
    pub fn external_base(&self) -> String {
        self.server.external_url.trim_end_matches('/').to_string()
    }

    /// Path of the sled store.
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    /// Path of the admin socket.
    pub fn admin_socket(&self) -> PathBuf {
        self.data_dir.join("admin.sock")
    }

    /// Path of the admin token.
    pub fn admin_token_path(&self) -> PathBuf {
        self.data_dir.join("admin.token")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
data_dir = "data"
root_cert = "root.pem"
[server]
listen = "127.0.0.1:8443"
external_url = "https://127.0.0.1:8443"
dns_name = "fleetca.example.org"
tls_cluster = "svc"
[hsm]
pin_env = "PIN"
"#;

    fn load(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fleetca.toml");
        std::fs::write(&path, text).expect("write");
        Config::load(&path)
    }

    fn err(text: &str) -> String {
        format!("{:#}", load(text).expect_err("must be refused"))
    }

    #[test]
    fn good_config_loads_with_defaults_and_relative_paths() {
        let c = load(GOOD).expect("loads");
        assert!(c.data_dir.ends_with("data") && c.data_dir.is_absolute());
        assert_eq!(c.issuance.max_days, 90);
        assert_eq!(c.hsm.token, "fleetca-issuing");
    }

    #[test]
    fn partial_tables_keep_their_other_defaults() {
        let c = load(&format!("{GOOD}\n[issuance]\nmax_days = 120\n[challenges]\n[challenges.resolve]\n\"a.example.org\" = \"127.0.0.1\"\n")).expect("loads");
        assert_eq!((c.issuance.default_days, c.issuance.max_days), (90, 120));
        assert_eq!(c.issuance.cluster_domain, "cluster.local");
        assert_eq!(c.challenges.http01_port, 80);
    }

    #[test]
    fn errors_name_the_field() {
        assert!(err(&GOOD.replace("listen =", "listn =")).contains("listn"));
        assert!(err(&GOOD.replace("dns_name = \"fleetca.example.org\"", "")).contains("dns_name"));
        assert!(
            err(&GOOD.replace("https://127.0.0.1:8443", "http://127.0.0.1:8443"))
                .contains("server.external_url")
        );
        assert!(err(&GOOD.replace("fleetca.example.org", "localhost")).contains("server.dns_name"));
        assert!(
            err(&GOOD.replace("127.0.0.1:8443\"\nexternal", "nowhere\"\nexternal"))
                .contains("listen")
        );
        assert!(err(&format!("{GOOD}\n[issuance]\ndefault_days = 100\nmax_days = 90\ncluster_domain = \"cluster.local\"\n")).contains("issuance.default_days"));
        let missing = format!(
            "{:#}",
            Config::load(Path::new("/nonexistent/fleetca.toml")).expect_err("missing")
        );
        assert!(
            missing.contains("cannot read config /nonexistent/fleetca.toml"),
            "{missing}"
        );
    }
}
