//! `fleetca`: the online issuing service and its admin commands.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use fleetca_api::admin::{self, Admin, AdminRequest};
use fleetca_api::config::Config;
use fleetca_api::server;

/// fleetca: a central PKI for Kubernetes fleets (online issuing service).
#[derive(Parser, Debug)]
#[command(name = "fleetca", version, about)]
struct Cli {
    /// Configuration file.
    #[arg(
        long,
        env = "FLEETCA_CONFIG",
        default_value = "fleetca.toml",
        global = true
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the service (ACME over HTTPS, admin socket).
    Serve,
    /// Cluster intermediates.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// ACME accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Fleet-wide revocation: by serial, key, name or cluster.
    Revoke(RevokeArgs),
    /// CRLs.
    #[command(subcommand)]
    Crl(CrlCommand),
    /// Every certificate issued, with expiry, revocation and development-only marks.
    Inventory {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ClusterCommand {
    /// Make the intermediate's key (on the fleetca-issuing token) and a CSR for the ceremony.
    Add {
        /// Cluster name.
        name: String,
        /// Keep the key in a software key file under the data directory instead of the token.
        #[arg(long)]
        software_key: bool,
        /// Where to write the CSR (default DATA/clusters/NAME.csr).
        #[arg(long)]
        csr_out: Option<PathBuf>,
    },
    /// Import the certificate the ceremony signed, and activate the cluster.
    Import {
        /// Cluster name.
        name: String,
        /// The intermediate certificate (PEM).
        #[arg(long)]
        cert: PathBuf,
    },
    /// List clusters.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
struct Target {
    /// One certificate, by serial (hex).
    #[arg(long)]
    serial: Option<String>,
    /// Every certificate with this key, in any cluster: a certificate, CSR or public key (PEM).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Every certificate with this key, by SPKI SHA-256 (hex, as the inventory shows).
    #[arg(long)]
    spki_sha256: Option<String>,
    /// Every certificate naming this DNS name, IP address or SPIFFE ID.
    #[arg(long)]
    name: Option<String>,
    /// Every leaf under this cluster's intermediate (and a request for the ceremony).
    #[arg(long)]
    cluster: Option<String>,
}

#[derive(clap::Args, Debug)]
struct RevokeArgs {
    #[command(flatten)]
    target: Target,
    /// RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged,
    /// superseded, cessationOfOperation, privilegeWithdrawn.
    #[arg(long, default_value = "unspecified")]
    reason: String,
    /// List what would be revoked, and revoke nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum CrlCommand {
    /// Publish the root CRL signed in the ceremony (its signature is checked against the root).
    PublishRoot {
        /// The CRL (DER or PEM).
        file: PathBuf,
    },
}

/// SHA-256 of the SubjectPublicKeyInfo in a certificate, CSR or public key file.
fn spki_sha256_of(path: &std::path::Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let spki = if let Ok(der) = fleetca::pem::decode_one("CERTIFICATE", &bytes) {
        der::Encode::to_der(
            &fleetca::lint::parse(&der)?
                .tbs_certificate
                .subject_public_key_info,
        )?
    } else if let Ok(csr) = fleetca::csr::VerifiedCsr::parse(&bytes) {
        csr.spki_der
    } else {
        fleetca::pem::decode_one("PUBLIC KEY", &bytes).with_context(|| {
            format!("{} holds no certificate, CSR or public key", path.display())
        })?
    };
    Ok(hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        &spki,
    )))
}

#[derive(Subcommand, Debug)]
enum AccountCommand {
    /// Mint an External Account Binding key for one namespace, and print a cert-manager Issuer.
    New {
        /// Cluster.
        #[arg(long)]
        cluster: String,
        /// Namespace the account is bound to.
        #[arg(long)]
        namespace: String,
        /// Extra DNS suffix granted to the account (repeatable).
        #[arg(long = "suffix")]
        suffixes: Vec<String>,
        /// Print JSON (kid, hmac_key, directory_url, manifest).
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,cryptoki=off".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs an admin command on the running server, or locally when none runs.
async fn admin_call(config: &Config, req: AdminRequest) -> Result<serde_json::Value> {
    let token = server::admin_token(config)?;
    if let Some(v) = admin::call(&config.admin_socket(), &token, &req).await? {
        return Ok(v);
    }
    let store = server::open_store(config)?;
    let admin = Admin::new(
        config.clone(),
        store,
        Arc::new(RwLock::new(Default::default())),
        None,
    );
    tokio::task::spawn_blocking(move || admin.execute(req)).await?
}

async fn run(cli: Cli) -> Result<()> {
    let config = Config::load(&cli.config)?;
    match cli.command {
        Command::Serve => server::serve(config).await,
        Command::Cluster(ClusterCommand::Add {
            name,
            software_key,
            csr_out,
        }) => {
            let v = admin_call(
                &config,
                AdminRequest::ClusterAdd {
                    name: name.clone(),
                    software_key,
                },
            )
            .await?;
            let csr = v["csr_pem"].as_str().unwrap_or_default();
            let path = csr_out
                .unwrap_or_else(|| config.data_dir.join("clusters").join(format!("{name}.csr")));
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p)?;
            }
            std::fs::write(&path, csr)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!(
                "cluster {name}: key {} (fingerprint {})",
                v["key"],
                v["key_fingerprint"].as_str().unwrap_or_default()
            );
            println!("csr: {}", path.display());
            println!("next: fleetca-ceremony sign-intermediate --csr {} --cluster {name} …, then fleetca cluster import {name} --cert FILE", path.display());
            Ok(())
        }
        Command::Cluster(ClusterCommand::Import { name, cert }) => {
            let pem = std::fs::read_to_string(&cert)
                .with_context(|| format!("cannot read {}", cert.display()))?;
            let v = admin_call(
                &config,
                AdminRequest::ClusterImport {
                    name: name.clone(),
                    cert_pem: pem,
                },
            )
            .await?;
            println!(
                "cluster {name} active; ACME directory {}",
                v["directory_url"].as_str().unwrap_or_default()
            );
            Ok(())
        }
        Command::Cluster(ClusterCommand::List { json }) => {
            let v = admin_call(&config, AdminRequest::ClusterList).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for c in v.as_array().into_iter().flatten() {
                    println!(
                        "{}\t{}\t{}",
                        c["name"].as_str().unwrap_or(""),
                        c["status"].as_str().unwrap_or(""),
                        c["key"]
                    );
                }
            }
            Ok(())
        }
        Command::Account(AccountCommand::New {
            cluster,
            namespace,
            suffixes,
            json,
        }) => {
            let v = admin_call(
                &config,
                AdminRequest::AccountNew {
                    cluster,
                    namespace,
                    suffixes,
                },
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("# EAB key id:  {}", v["kid"].as_str().unwrap_or_default());
                println!(
                    "# EAB HMAC:    {}",
                    v["hmac_key"].as_str().unwrap_or_default()
                );
                println!(
                    "# directory:   {}",
                    v["directory_url"].as_str().unwrap_or_default()
                );
                println!("# cert-manager Issuer (kubectl apply -f -):");
                print!("{}", v["manifest"].as_str().unwrap_or_default());
            }
            Ok(())
        }
        Command::Revoke(a) => {
            let reason = fleetca_api::revocation::parse_reason(&a.reason)
                .with_context(|| format!("unknown reason {:?}; use unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation or privilegeWithdrawn", a.reason))?;
            let t = a.target;
            let selector = if let Some(s) = t.serial {
                admin::Selector::Serial(s)
            } else if let Some(k) = t.key {
                admin::Selector::Key(spki_sha256_of(&k)?)
            } else if let Some(h) = t.spki_sha256 {
                admin::Selector::Key(h)
            } else if let Some(n) = t.name {
                admin::Selector::Name(n)
            } else if let Some(c) = t.cluster {
                admin::Selector::Cluster(c)
            } else {
                anyhow::bail!(
                    "say what to revoke: --serial, --key, --spki-sha256, --name or --cluster"
                );
            };
            let v = admin_call(
                &config,
                AdminRequest::Revoke {
                    selector,
                    reason,
                    dry_run: a.dry_run,
                },
            )
            .await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let verb = if a.dry_run { "would revoke" } else { "revoked" };
                if v["certificates"].as_array().is_none_or(|c| c.is_empty()) {
                    println!("no certificate matches; nothing revoked");
                }
                for c in v["certificates"].as_array().into_iter().flatten() {
                    let state = if c["already_revoked"] == true {
                        "already revoked"
                    } else {
                        verb
                    };
                    println!(
                        "{state}\t{}\t{}\t{}\t{}",
                        c["serial"].as_str().unwrap_or(""),
                        c["cluster"].as_str().unwrap_or(""),
                        c["namespace"].as_str().unwrap_or(""),
                        c["names"]
                    );
                }
                if let Some(cmd) = v["ceremony_request"]["command"].as_str() {
                    println!("the intermediate itself must be revoked by the root, at the ceremony:\n  {cmd}");
                }
            }
            Ok(())
        }
        Command::Crl(CrlCommand::PublishRoot { file }) => {
            use base64::Engine;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let der = fleetca::pem::decode_one("X509 CRL", &bytes)?;
            let v = admin_call(
                &config,
                AdminRequest::PublishRootCrl {
                    der_b64: base64::engine::general_purpose::STANDARD.encode(der),
                },
            )
            .await?;
            println!("root CRL published ({} entries)", v["entries"]);
            Ok(())
        }
        Command::Inventory { json } => {
            let v = admin_call(&config, AdminRequest::Inventory).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for c in v.as_array().into_iter().flatten() {
                    let dev = if c["development_only"].as_bool() == Some(true) {
                        " DEVELOPMENT-ONLY"
                    } else {
                        ""
                    };
                    let rev = if c["revoked"].is_null() {
                        ""
                    } else {
                        " REVOKED"
                    };
                    println!(
                        "{}\t{}\t{}\t{} days\t{}\t{}{dev}{rev}",
                        c["serial"].as_str().unwrap_or(""),
                        c["cluster"].as_str().unwrap_or(""),
                        c["namespace"].as_str().unwrap_or(""),
                        c["expires_in_days"],
                        c["purpose"].as_str().unwrap_or(""),
                        c["names"]
                    );
                }
            }
            Ok(())
        }
    }
}
