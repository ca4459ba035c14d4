//! Command-line interface. PINs are never flags: they come from an environment variable or a
//! file, so they stay out of `ps`, shell history and the transcript.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use fleetca_hsm::KeyType;

/// The offline root key ceremony for fleetca.
#[derive(Parser, Debug)]
#[command(name = "fleetca-ceremony", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command shares.
#[derive(Args, Debug, Clone)]
pub(crate) struct Global {
    /// Ceremony directory: state, certificates, CRLs and the transcript.
    #[arg(
        long,
        env = "FLEETCA_CEREMONY_DIR",
        default_value = "ceremony",
        global = true
    )]
    pub(crate) dir: PathBuf,
    /// Name of the security officer running this step (recorded in the transcript).
    #[arg(long, env = "FLEETCA_OPERATOR", global = true)]
    pub(crate) operator: Option<String>,
    /// PKCS#11 module.
    #[arg(
        long,
        env = "FLEETCA_PKCS11_MODULE",
        default_value = "/usr/lib/softhsm/libsofthsm2.so",
        global = true
    )]
    pub(crate) module: PathBuf,
    /// Label of the token holding the root key.
    #[arg(long, default_value = "fleetca-root", global = true)]
    pub(crate) token: String,
    /// Environment variable holding the token's user PIN.
    #[arg(long, default_value = "FLEETCA_ROOT_PIN", global = true)]
    pub(crate) pin_env: String,
    /// File holding the token's user PIN (first line); overrides --pin-env.
    #[arg(long, global = true)]
    pub(crate) pin_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Generate the root key on the token and write the self-signed root certificate.
    Init(InitArgs),
    /// Sign a cluster intermediate CA from its CSR.
    SignIntermediate(SignArgs),
    /// Add a certificate this root signed to the root's revocation list.
    Revoke(RevokeArgs),
    /// Sign a new root CRL (monotonic CRL number).
    Crl(CrlArgs),
    /// Show the ceremony's state: root, intermediates, revocations.
    Show,
    /// Work with the transcript.
    #[command(subcommand)]
    Transcript(TranscriptCommand),
}

#[derive(Args, Debug)]
pub(crate) struct InitArgs {
    /// Root subject commonName.
    #[arg(long, default_value = "fleetca Root CA")]
    pub(crate) cn: String,
    /// Root subject organizationName.
    #[arg(long)]
    pub(crate) org: Option<String>,
    /// Key type: p256 (default), p384, rsa3072, rsa4096. SoftHSM signs P-384 ~36× slower.
    #[arg(long, default_value = "p256")]
    pub(crate) key_type: KeyType,
    /// Label of the key on the token.
    #[arg(long, default_value = "fleetca-root")]
    pub(crate) key_label: String,
    /// Lifetime in days (default 20 years).
    #[arg(long, default_value_t = fleetca::profile::ROOT_VALIDITY_DAYS)]
    pub(crate) validity_days: i64,
    /// Explicit notBefore (RFC 3339), default now.
    #[arg(long)]
    pub(crate) not_before: Option<String>,
    /// Explicit notAfter (RFC 3339), overrides --validity-days.
    #[arg(long)]
    pub(crate) not_after: Option<String>,
    /// URL where the root CRL will be published (put in every intermediate's CDP).
    #[arg(long)]
    pub(crate) crl_url: Option<String>,
    /// URL where the root certificate can be fetched (AIA caIssuers of intermediates).
    #[arg(long)]
    pub(crate) ca_issuers_url: Option<String>,
}

#[derive(Args, Debug)]
pub(crate) struct SignArgs {
    /// The intermediate's CSR (PEM or DER), made where its key lives.
    #[arg(long)]
    pub(crate) csr: PathBuf,
    /// Cluster (or environment) name: lower-case letters, digits and '-'.
    #[arg(long)]
    pub(crate) cluster: String,
    /// Subject commonName (default: the CSR's, else "fleetca <cluster> issuing CA").
    #[arg(long)]
    pub(crate) cn: Option<String>,
    /// Permitted DNS subtree (repeatable), e.g. cluster1.example.org, svc.cluster.local.
    #[arg(long = "permit-dns")]
    pub(crate) permit_dns: Vec<String>,
    /// SPIFFE trust domain: permitted URI subtree for spiffe://TRUST-DOMAIN/... IDs.
    #[arg(long)]
    pub(crate) spiffe_trust_domain: Option<String>,
    /// Do not exclude loopback addresses (127.0.0.0/8, ::1) in the name constraints. Only for
    /// an intermediate that issues a development-only serving certificate on one laptop.
    #[arg(long)]
    pub(crate) no_exclude_loopback: bool,
    /// CRL distribution point (default: the root CRL URL given at init).
    #[arg(long)]
    pub(crate) crl_url: Option<String>,
    /// AIA caIssuers URL (default: the one given at init).
    #[arg(long)]
    pub(crate) ca_issuers_url: Option<String>,
    /// AIA OCSP URL for the root's status of this intermediate, if a responder exists.
    #[arg(long)]
    pub(crate) ocsp_url: Option<String>,
    /// Lifetime in days (default 3 years; never past the root's notAfter).
    #[arg(long, default_value_t = fleetca::profile::INTERMEDIATE_VALIDITY_DAYS)]
    pub(crate) validity_days: i64,
    /// Explicit notAfter (RFC 3339), overrides --validity-days.
    #[arg(long)]
    pub(crate) not_after: Option<String>,
    /// Where to write the certificate (default DIR/intermediates/CLUSTER.pem).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Sign without asking for confirmation (scripts).
    #[arg(long)]
    pub(crate) yes: bool,
}

#[derive(Args, Debug)]
pub(crate) struct RevokeArgs {
    /// Serial number (hex, as `openssl x509 -serial` prints it).
    #[arg(long)]
    pub(crate) serial: String,
    /// RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged,
    /// superseded, cessationOfOperation, privilegeWithdrawn.
    #[arg(long, default_value = "unspecified")]
    pub(crate) reason: String,
}

#[derive(Args, Debug)]
pub(crate) struct CrlArgs {
    /// Days until nextUpdate.
    #[arg(long, default_value_t = 180)]
    pub(crate) next_update_days: i64,
    /// Also write the CRL (DER) here.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum TranscriptCommand {
    /// Check the hash chain; name the first entry that was edited, dropped or reordered.
    Verify,
}
