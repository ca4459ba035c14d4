//! The validation authority: checks http-01 challenges (RFC 8555 §8.3) by fetching
//! `http://NAME:PORT/.well-known/acme-challenge/TOKEN` and comparing the key authorization.
//! The port and a name→address map are configurable so tests validate on loopback.
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use fleetca::policy::Identifier;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

/// The longest a validation may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest response body read.
const MAX_BODY: usize = 8 * 1024;

/// Why a validation failed: the target could not be reached (`connection`), or it answered
/// wrongly (`incorrectResponse`) — RFC 8555 §6.7.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ValidationError {
    /// No connection, timeout, DNS failure.
    #[error("{0}")]
    Connection(String),
    /// A response, but not the key authorization.
    #[error("{0}")]
    IncorrectResponse(String),
}

/// An http-01 validator.
#[derive(Debug, Clone)]
pub struct Validator {
    port: u16,
    resolve: BTreeMap<String, IpAddr>,
}

impl Validator {
    /// A validator connecting to `port`, with `resolve` overriding DNS for some names.
    pub fn new(port: u16, resolve: BTreeMap<String, IpAddr>) -> Self {
        Self { port, resolve }
    }

    async fn address(&self, id: &Identifier) -> Result<SocketAddr, String> {
        match id {
            Identifier::Ip(ip) => Ok(SocketAddr::new(
                self.resolve.get(&ip.to_string()).copied().unwrap_or(*ip),
                self.port,
            )),
            Identifier::Dns(name) => {
                if let Some(ip) = self.resolve.get(name) {
                    return Ok(SocketAddr::new(*ip, self.port));
                }
                tokio::net::lookup_host((name.as_str(), self.port))
                    .await
                    .map_err(|e| format!("cannot resolve {name}: {e}"))?
                    .next()
                    .ok_or_else(|| format!("{name} has no address"))
            }
        }
    }

    /// Validates one http-01 challenge. `Err` says what went wrong, for the challenge's error.
    pub async fn http01(
        &self,
        id: &Identifier,
        token: &str,
        key_authorization: &str,
    ) -> Result<(), ValidationError> {
        tokio::time::timeout(TIMEOUT, self.fetch(id, token, key_authorization))
            .await
            .map_err(|_| {
                ValidationError::Connection(format!(
                    "no answer from {id} within {} s",
                    TIMEOUT.as_secs()
                ))
            })?
    }

    async fn fetch(
        &self,
        id: &Identifier,
        token: &str,
        key_authorization: &str,
    ) -> Result<(), ValidationError> {
        use ValidationError::{Connection, IncorrectResponse};
        let addr = self.address(id).await.map_err(Connection)?;
        let host = match id {
            Identifier::Dns(d) => d.clone(),
            Identifier::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            Identifier::Ip(ip) => ip.to_string(),
        };
        let url_path = format!("/.well-known/acme-challenge/{token}");
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| Connection(format!("cannot connect to {addr} for {id}: {e}")))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Connection(format!("HTTP to {addr}: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = hyper::Request::get(&url_path)
            .header(hyper::header::HOST, host)
            .header(hyper::header::USER_AGENT, "fleetca-va")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| IncorrectResponse(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| Connection(format!("GET http://{id}{url_path}: {e}")))?;
        let status = resp.status();
        let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| IncorrectResponse(format!("reading the response from {id}: {e}")))?
            .to_bytes();
        if !status.is_success() {
            return Err(IncorrectResponse(format!(
                "GET http://{id}{url_path} answered {status}"
            )));
        }
        let got = String::from_utf8_lossy(&body);
        if got.trim_end() != key_authorization {
            return Err(IncorrectResponse(format!(
                "the key authorization served at http://{id}{url_path} is wrong"
            )));
        }
        Ok(())
    }
}
