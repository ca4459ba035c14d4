//! `fleetca serve`: wires the roles together and runs the listeners.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use anyhow::{anyhow, bail, Context, Result};
use fleetca_hsm::{KeyType, Pkcs11Token, Signer, SoftwareKey};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use time::{Duration, OffsetDateTime};
use tracing::{info, warn};

use crate::admin::{self, Admin};
use crate::ca::LeafRequest;
use crate::config::Config;
use crate::ra::{Clusters, Ra};
use crate::revocation::Revocation;
use crate::sa::{SledStore, Storage, StoreError};
use crate::va::Validator;
use crate::wfe::nonce::{NonceConfig, NonceService};
use crate::wfe::routes::{router, Wfe};

/// Opens the store, mapping sled's lock error to advice.
pub fn open_store(config: &Config) -> Result<Arc<SledStore>> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
    match SledStore::open(&config.store_path()) {
        Ok(s) => Ok(Arc::new(s)),
        Err(StoreError::Locked(p)) => bail!("the store {p} is in use by another process (is another `fleetca serve` running on this data_dir?)"),
        Err(e) => Err(anyhow!(e)),
    }
}

/// Reads the admin token, creating it (mode 0600) on first use.
pub fn admin_token(config: &Config) -> Result<String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Ok(t) = std::env::var("FLEETCA_ADMIN_TOKEN") {
        return Ok(t);
    }
    let path = config.admin_token_path();
    if let Ok(t) = std::fs::read_to_string(&path) {
        return Ok(t.trim().to_string());
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let mut b = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| anyhow!("no randomness"))?;
    let token = hex::encode(b);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(token.as_bytes())?;
    f.sync_all()?;
    Ok(token)
}

/// Issues the server's own TLS certificate from `server.tls_cluster` with a fresh in-memory
/// software key. With `dev_ip_addresses` set it is marked development-only in the inventory.
fn serving_certificate(
    config: &Config,
    clusters: &Clusters,
    store: &dyn Storage,
) -> Result<rustls::ServerConfig> {
    let ca = clusters
        .read()
        .map_err(|_| anyhow!("cluster table poisoned"))?
        .get(&config.server.tls_cluster)
        .cloned()
        .ok_or_else(|| anyhow!("server.tls_cluster {:?} is not an active cluster: run `fleetca cluster add` and `cluster import` for it first", config.server.tls_cluster))?;
    let key = SoftwareKey::generate(KeyType::EcP256).map_err(|e| anyhow!(e))?;
    let now = OffsetDateTime::now_utc();
    let dev = !config.server.dev_ip_addresses.is_empty();
    let req = LeafRequest {
        spki_der: key.public_key().spki_der.clone(),
        dns_names: vec![config.server.dns_name.clone()],
        ip_addresses: config.server.dev_ip_addresses.clone(),
        uris: vec![],
        common_name: None,
        not_before: now - Duration::minutes(1),
        not_after: now + Duration::days(30),
        account_id: None,
        namespace: "fleetca-system".into(),
        order_id: None,
        development_only: dev,
        ocsp_responder: false,
        cancelled: None,
    };
    let cert = ca
        .issue(store, &req)
        .map_err(|e| anyhow!("cannot issue the serving certificate: {e}"))?;
    if dev {
        warn!(serial = %cert.serial, ips = ?config.server.dev_ip_addresses, "serving certificate carries IP addresses for local development only");
    }
    let chain = vec![
        rustls::pki_types::CertificateDer::from(cert.der.0.clone()),
        rustls::pki_types::CertificateDer::from(ca.cert_der.clone()),
    ];
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.pkcs8_der().to_vec().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tls)
}

async fn serve_https(addr: SocketAddr, tls: rustls::ServerConfig, app: axum::Router) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "accept failed");
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp))
                    .await
            else {
                return;
            };
            // Slow clients may not hold connections forever (slowloris): headers must arrive
            // within 10 s.
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10));
            let _ = builder
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                .await;
        });
    }
}

/// Runs the service until the process is stopped.
pub async fn serve(config: Config) -> Result<()> {
    let store = open_store(&config)?;
    let store_dyn: Arc<dyn Storage> = store.clone();
    let token = Pkcs11Token::open(&config.pkcs11()).map_err(|e| anyhow!("hsm: {e}"))?;
    let clusters: Clusters = Arc::new(RwLock::new(HashMap::new()));
    let admin = Arc::new(Admin::new(
        config.clone(),
        Arc::clone(&store_dyn),
        Arc::clone(&clusters),
        Some(token),
    ));
    let loaded = {
        let admin = Arc::clone(&admin);
        tokio::task::spawn_blocking(move || admin.load_clusters()).await??
    };
    info!(clusters = ?loaded.keys().collect::<Vec<_>>(), "active clusters loaded");
    *clusters.write().map_err(|_| anyhow!("poisoned"))? = loaded;

    let root_der = fleetca::pem::decode_one(
        "CERTIFICATE",
        &std::fs::read(&config.root_cert)
            .with_context(|| format!("cannot read root_cert {}", config.root_cert.display()))?,
    )?;
    let revocation = Arc::new(Revocation::new(
        Arc::clone(&store_dyn),
        Arc::clone(&clusters),
        config.revocation.clone(),
        Pkcs11Token::open(&config.pkcs11()).ok(),
    ));
    {
        let r = Arc::clone(&revocation);
        tokio::task::spawn_blocking(move || r.init())
            .await?
            .map_err(|e| anyhow!("revocation: {e}"))?;
    }
    tokio::spawn(Arc::clone(&revocation).background());
    admin.set_revocation(Arc::clone(&revocation));

    let validator = Arc::new(Validator::new(
        config.challenges.http01_port,
        config.challenges.resolve.clone(),
    ));
    let ra = Arc::new(Ra::new(
        Arc::clone(&store_dyn),
        Arc::clone(&clusters),
        config.issuance.clone(),
        validator,
        Arc::clone(&revocation),
    ));
    ra.recover()
        .map_err(|e| anyhow!("recovering orders: {}", e.detail))?;
    let nonce_reject = std::env::var("FLEETCA_TEST_NONCE_REJECT_PERCENT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let nonces = Arc::new(
        NonceService::new(NonceConfig {
            reject_percent: nonce_reject,
            ..NonceConfig::default()
        })
        .map_err(|e| anyhow!("{e}"))?,
    );
    let wfe = Arc::new(Wfe::new(Arc::clone(&ra), nonces, config.external_base()));

    let tls = {
        let config = config.clone();
        let clusters = Arc::clone(&clusters);
        let store = Arc::clone(&store_dyn);
        tokio::task::spawn_blocking(move || serving_certificate(&config, &clusters, store.as_ref()))
            .await??
    };
    let token = admin_token(&config)?;
    let socket = config.admin_socket();
    let admin_task = tokio::spawn({
        let admin = Arc::clone(&admin);
        async move { admin::serve_socket(&socket, token, admin).await }
    });
    let public =
        crate::revocation::router(Arc::clone(&revocation), Arc::clone(&clusters), root_der);
    let app = router(wfe)
        .merge(public.clone())
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let public_task = match &config.public {
        Some(p) => {
            let listener = tokio::net::TcpListener::bind(p.listen)
                .await
                .with_context(|| format!("cannot listen on {}", p.listen))?;
            info!(listen = %p.listen, url = %p.url, "CRL and OCSP over plain HTTP");
            Some(tokio::spawn(
                async move { axum::serve(listener, public).await },
            ))
        }
        None => None,
    };
    let public_wait = async move {
        match public_task {
            Some(t) => t.await.map_err(|e| anyhow!(e))?.map_err(|e| anyhow!(e)),
            None => std::future::pending().await,
        }
    };
    info!(listen = %config.server.listen, url = %config.external_base(), "fleetca listening");
    eprintln!(
        "fleetca listening on {} ({})",
        config.server.listen,
        config.external_base()
    );
    tokio::select! {
        r = serve_https(config.server.listen, tls, app) => r,
        r = admin_task => r.map_err(|e| anyhow!(e))?,
        r = public_wait => r,
        _ = shutdown_signal() => {
            info!("shutting down");
            store.flush().map_err(|e| anyhow!(e))?;
            let _ = std::fs::remove_file(config.admin_socket());
            Ok(())
        }
    }
}

/// SIGINT or SIGTERM (what `kill` and service managers send).
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
