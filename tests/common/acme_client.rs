//! A small synchronous ACME client (RFC 8555) for protocol tests: flattened JWS built by hand
//! with ring, so that requests can be broken on purpose (any protected header, any
//! Content-Type, replayed or invented nonces, tampered payloads), plus EAB, http-01 and CSRs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{json, Value};

use super::fleet::{Eab, Fleet};
use super::{ok, openssl};

/// The ACME request media type (RFC 8555 §6.2).
pub const JOSE: &str = "application/jose+json";
/// The problem document media type (RFC 7807).
pub const PROBLEM: &str = "application/problem+json";
/// The URN prefix of ACME error types (RFC 8555 §6.7).
pub const URN: &str = "urn:ietf:params:acme:error:";

/// Unpadded base64url (RFC 7515 §2).
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url with or without `=` padding.
pub fn b64_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .unwrap_or_else(|e| panic!("not base64url: {text:?}: {e}"))
}

/// The same bytes as base64url with `=` padding.
pub fn repad(text: &str) -> String {
    URL_SAFE.encode(b64_decode(text))
}

/// Account key algorithms the server must accept (issue 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Es256,
    Es384,
    EdDsa,
    Rs256,
}

impl Alg {
    pub const ALL: [Self; 4] = [Self::Es256, Self::Es384, Self::EdDsa, Self::Rs256];

    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
        }
    }
}

enum KeyInner {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// An ACME account key (or a certificate key used to sign a revocation).
pub struct AccountKey {
    alg: Alg,
    inner: KeyInner,
}

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccountKey({})", self.alg.name())
    }
}

impl AccountKey {
    /// A fresh key. RSA-2048 is made by `openssl genpkey` (ring cannot generate RSA keys).
    pub fn generate(alg: Alg) -> Self {
        let rng = SystemRandom::new();
        match alg {
            Alg::Es256 | Alg::Es384 => {
                let a = Self::ecdsa_alg(alg);
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(a, &rng).expect("generate EC key");
                Self::from_pkcs8(alg, pkcs8.as_ref())
            }
            Alg::EdDsa => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("generate Ed25519 key");
                Self::from_pkcs8(alg, pkcs8.as_ref())
            }
            Alg::Rs256 => {
                let dir = tempfile::tempdir().expect("tempdir");
                ok(openssl(dir.path()).args([
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                    "-out",
                    "rsa.pem",
                ]));
                // genpkey's DER output is PKCS#1; ring wants PKCS#8.
                ok(openssl(dir.path()).args([
                    "pkcs8", "-topk8", "-nocrypt", "-in", "rsa.pem", "-outform", "DER", "-out",
                    "rsa.p8",
                ]));
                let der = std::fs::read(dir.path().join("rsa.p8")).expect("read RSA key");
                Self::from_pkcs8(alg, &der)
            }
        }
    }

    fn ecdsa_alg(alg: Alg) -> &'static signature::EcdsaSigningAlgorithm {
        match alg {
            Alg::Es384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            _ => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        }
    }

    /// Loads a PKCS#8 private key (for example an rcgen `KeyPair::serialize_der()`).
    pub fn from_pkcs8(alg: Alg, der: &[u8]) -> Self {
        let rng = SystemRandom::new();
        let inner = match alg {
            Alg::Es256 | Alg::Es384 => KeyInner::Ec(
                EcdsaKeyPair::from_pkcs8(Self::ecdsa_alg(alg), der, &rng).expect("EC PKCS#8"),
            ),
            Alg::EdDsa => KeyInner::Ed(Ed25519KeyPair::from_pkcs8(der).expect("Ed25519 PKCS#8")),
            Alg::Rs256 => KeyInner::Rsa(RsaKeyPair::from_pkcs8(der).expect("RSA PKCS#8")),
        };
        Self { alg, inner }
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The public JWK (RFC 7517; EC and RSA per RFC 7518 §6, OKP per RFC 8037).
    pub fn jwk(&self) -> Value {
        match &self.inner {
            KeyInner::Ec(k) => {
                let p = k.public_key().as_ref();
                let n = (p.len() - 1) / 2;
                let crv = if n == 32 { "P-256" } else { "P-384" };
                json!({"kty": "EC", "crv": crv, "x": b64(&p[1..1 + n]), "y": b64(&p[1 + n..])})
            }
            KeyInner::Ed(k) => json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key())}),
            KeyInner::Rsa(k) => {
                let c = signature::RsaPublicKeyComponents::<Vec<u8>>::from(k.public());
                let strip = |b: &[u8]| {
                    b.iter()
                        .skip_while(|x| **x == 0)
                        .copied()
                        .collect::<Vec<_>>()
                };
                json!({"kty": "RSA", "n": b64(strip(&c.n)), "e": b64(strip(&c.e))})
            }
        }
    }

    /// The RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
    pub fn thumbprint(&self) -> String {
        let j = self.jwk();
        let s = |k: &str| j[k].as_str().expect("jwk member").to_string();
        let canonical = match self.alg {
            Alg::Es256 | Alg::Es384 => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                s("crv"),
                s("x"),
                s("y")
            ),
            Alg::EdDsa => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, s("x")),
            Alg::Rs256 => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n")),
        };
        b64(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    /// The http-01 key authorization for `token` (RFC 8555 §8.1).
    pub fn key_authorization(&self, token: &str) -> String {
        format!("{token}.{}", self.thumbprint())
    }

    /// The JWS signature over `message` (RFC 7518 §3.3, §3.4; RFC 8037 §3.1).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.inner {
            KeyInner::Ec(k) => k.sign(&rng, message).expect("sign").as_ref().to_vec(),
            KeyInner::Ed(k) => k.sign(message).as_ref().to_vec(),
            KeyInner::Rsa(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .expect("sign");
                sig
            }
        }
    }
}

/// A flattened JWS (RFC 7515 §7.2.2) over the exact `protected` and `payload` texts given.
pub fn jws_b64(key: &AccountKey, protected_b64: &str, payload_b64: &str) -> Value {
    let sig = key.sign(format!("{protected_b64}.{payload_b64}").as_bytes());
    json!({"protected": protected_b64, "payload": payload_b64, "signature": b64(sig)})
}

/// A flattened JWS with `protected` serialised as given and `payload` raw bytes ("" = POST-as-GET).
pub fn jws(key: &AccountKey, protected: &Value, payload: &[u8]) -> Value {
    jws_b64(key, &b64(protected.to_string()), &b64(payload))
}

/// An External Account Binding (RFC 8555 §7.3.4): HS256 over `protected.payload` with the
/// HMAC key given as base64url, padded or not; `jwk` is the payload (normally the account key).
pub fn eab_jws(kid: &str, hmac_b64: &str, jwk: &Value, url: &str) -> Value {
    let protected = json!({"alg": "HS256", "kid": kid, "url": url});
    eab_jws_b64(hmac_b64, &b64(protected.to_string()), &b64(jwk.to_string()))
}

/// An EAB over the exact `protected` and `payload` texts given.
pub fn eab_jws_b64(hmac_b64: &str, protected_b64: &str, payload_b64: &str) -> Value {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &b64_decode(hmac_b64));
    let tag = ring::hmac::sign(&key, format!("{protected_b64}.{payload_b64}").as_bytes());
    json!({"protected": protected_b64, "payload": payload_b64, "signature": b64(tag)})
}

/// An HTTP response: status, headers (lower-case names) and body.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub fn headers_all(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn nonce(&self) -> Option<&str> {
        self.header("replay-nonce")
    }

    pub fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("no Location: {self}"))
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self}"))
    }

    /// Integer seconds of `Retry-After`, if present.
    pub fn retry_after(&self) -> Option<u64> {
        self.header("retry-after").map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("Retry-After is not integer seconds: {v:?}"))
        })
    }

    /// Asserts a success status and a fresh Replay-Nonce (RFC 8555 §6.5); returns the JSON body.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{self}");
        assert_nonce(self);
        if self.content_type().starts_with("application/json") {
            self.json()
        } else {
            Value::Null
        }
    }

    /// Asserts a problem document (RFC 8555 §6.7): `status`, `Content-Type:
    /// application/problem+json`, `type` = the URN of `kind`, a detail, and a fresh
    /// Replay-Nonce (every ACME response carries one, RFC 8555 §6.5). Returns the problem.
    pub fn problem(&self, status: u16, kind: &str) -> Value {
        assert_eq!(self.status, status, "expected {status} {kind}: {self}");
        assert!(
            self.content_type().starts_with(PROBLEM),
            "problem documents are {PROBLEM}: {self}"
        );
        let p = self.json();
        assert_eq!(p["type"], format!("{URN}{kind}"), "{self}");
        assert!(
            p["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "a problem has a human-readable detail: {self}"
        );
        assert_nonce(self);
        p
    }
}

impl std::fmt::Display for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        for (k, v) in &self.headers {
            write!(f, "\n{k}: {v}")?;
        }
        write!(f, "\n\n{}", self.text())
    }
}

/// A non-empty unpadded base64url `Replay-Nonce` is present.
pub fn assert_nonce(r: &Resp) {
    let n = r
        .nonce()
        .unwrap_or_else(|| panic!("every ACME response carries a Replay-Nonce: {r}"));
    assert!(
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "Replay-Nonce is unpadded base64url: {n:?}"
    );
}

/// An ureq agent that trusts the fleet's root and adds no Accept header of its own.
pub fn raw_agent(f: &Fleet) -> ureq::Agent {
    let pem = std::fs::read(f.root_pem()).expect("root");
    let der = fleetca::pem::decode_one("CERTIFICATE", &pem).expect("pem");
    let roots = vec![ureq::tls::Certificate::from_der(&der).to_owned()];
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .accept(ureq::config::AutoHeaderValue::None)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn collect(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Resp {
    let mut r = r.unwrap_or_else(|e| panic!("HTTP request failed: {e}"));
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let body = r
        .body_mut()
        .with_config()
        .limit(16 << 20)
        .read_to_vec()
        .unwrap_or_default();
    Resp {
        status: r.status().as_u16(),
        headers,
        body,
    }
}

/// One ACME client: an agent, the directory, an account key, a kid once registered, and the
/// last nonce the server handed out.
pub struct Client {
    pub agent: ureq::Agent,
    pub dir: Value,
    pub directory_url: String,
    pub key: AccountKey,
    pub kid: Option<String>,
    pub nonce: Option<String>,
}

impl Client {
    /// A client for `cluster1` with a fresh key of `alg`.
    pub fn new(f: &Fleet, alg: Alg) -> Self {
        Self::with_key(f, AccountKey::generate(alg))
    }

    pub fn with_key(f: &Fleet, key: AccountKey) -> Self {
        let agent = raw_agent(f);
        let directory_url = f.directory("cluster1");
        let r = collect(agent.get(&directory_url).call());
        assert_eq!(r.status, 200, "directory: {r}");
        Self {
            agent,
            dir: r.json(),
            directory_url,
            key,
            kid: None,
            nonce: None,
        }
    }

    /// A directory URL (`newNonce`, `newAccount`, `newOrder`, `revokeCert`, `keyChange`).
    pub fn url(&self, name: &str) -> String {
        self.dir[name]
            .as_str()
            .unwrap_or_else(|| panic!("directory has no {name}: {}", self.dir))
            .to_string()
    }

    pub fn get(&self, url: &str) -> Resp {
        collect(self.agent.get(url).call())
    }

    pub fn head(&self, url: &str) -> Resp {
        collect(self.agent.head(url).call())
    }

    /// A fresh nonce from `HEAD newNonce`.
    pub fn fresh_nonce(&self) -> String {
        let r = self.head(&self.url("newNonce"));
        assert_eq!(r.status, 200, "{r}");
        r.nonce().expect("Replay-Nonce").to_string()
    }

    /// The nonce from the last response, else a fresh one.
    pub fn take_nonce(&mut self) -> String {
        self.nonce.take().unwrap_or_else(|| self.fresh_nonce())
    }

    /// POSTs `body` as is, with `content_type` (None: no Content-Type header) and optional
    /// extra headers; remembers the response's nonce.
    pub fn post_raw(
        &mut self,
        url: &str,
        content_type: Option<&str>,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let mut req = self.agent.post(url);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let r = collect(req.send(body));
        if let Some(n) = r.nonce() {
            self.nonce = Some(n.to_string());
        }
        r
    }

    /// POSTs a JWS value as `application/jose+json`.
    pub fn post_jws(&mut self, url: &str, jws: &Value) -> Resp {
        self.post_raw(url, Some(JOSE), &[], jws.to_string().as_bytes())
    }

    /// The protected header a well-behaved client sends: `kid` once registered, else `jwk`.
    pub fn protected(&mut self, url: &str) -> Value {
        let nonce = self.take_nonce();
        let mut h = json!({"alg": self.key.alg().name(), "nonce": nonce, "url": url});
        match &self.kid {
            Some(kid) => h["kid"] = json!(kid),
            None => h["jwk"] = self.key.jwk(),
        }
        h
    }

    /// A correct request: payload `Some(json)` or POST-as-GET (`None`).
    pub fn post(&mut self, url: &str, payload: Option<&Value>) -> Resp {
        let h = self.protected(url);
        self.post_signed(url, &h, payload)
    }

    /// Signs `payload` under the given protected header (any members) with the account key.
    pub fn post_signed(&mut self, url: &str, protected: &Value, payload: Option<&Value>) -> Resp {
        let body = payload.map(|p| p.to_string()).unwrap_or_default();
        let j = jws(&self.key, protected, body.as_bytes());
        self.post_jws(url, &j)
    }

    /// POST-as-GET with extra HTTP headers (for Accept).
    pub fn post_as_get_with(&mut self, url: &str, extra: &[(&str, &str)]) -> Resp {
        let h = self.protected(url);
        let j = jws(&self.key, &h, b"");
        self.post_raw(url, Some(JOSE), extra, j.to_string().as_bytes())
    }

    /// The newAccount payload with an EAB made from `eab` (HMAC key as given).
    pub fn new_account_payload(&self, kid: &str, hmac: &str) -> Value {
        json!({
            "termsOfServiceAgreed": true,
            "contact": ["mailto:ops@example.org"],
            "externalAccountBinding": eab_jws(kid, hmac, &self.key.jwk(), &self.url("newAccount")),
        })
    }

    /// newAccount with EAB; on 200/201 the client keeps the account URL as its kid.
    pub fn register(&mut self, eab: &Eab) -> Resp {
        self.register_with_hmac(&eab.kid, &eab.hmac)
    }

    pub fn register_with_hmac(&mut self, kid: &str, hmac: &str) -> Resp {
        let payload = self.new_account_payload(kid, hmac);
        let saved = self.kid.take();
        let url = self.url("newAccount");
        let r = self.post(&url, Some(&payload));
        if r.status == 200 || r.status == 201 {
            self.kid = Some(r.location().to_string());
        } else {
            self.kid = saved;
        }
        r
    }

    /// Registers and asserts 201 Created.
    pub fn registered(f: &Fleet, alg: Alg, eab: &Eab) -> Self {
        let mut c = Self::new(f, alg);
        let r = c.register(eab);
        r.expect(201);
        c
    }

    /// newOrder for `(type, value)` identifiers.
    pub fn new_order(&mut self, ids: &[(&str, &str)]) -> Resp {
        let ids: Vec<Value> = ids
            .iter()
            .map(|(t, v)| json!({"type": t, "value": v}))
            .collect();
        let url = self.url("newOrder");
        self.post(&url, Some(&json!({ "identifiers": ids })))
    }

    /// newOrder for DNS names, asserting 201; returns (order URL, order).
    pub fn order_dns(&mut self, names: &[&str]) -> (String, Value) {
        let ids: Vec<(&str, &str)> = names.iter().map(|n| ("dns", *n)).collect();
        let r = self.new_order(&ids);
        let o = r.expect(201);
        (r.location().to_string(), o)
    }

    /// POST-as-GET, asserting 200; returns the JSON.
    pub fn fetch(&mut self, url: &str) -> Value {
        self.post(url, None).expect(200)
    }

    /// Polls an order (POST-as-GET) while it is `pending` or `processing`, sleeping the
    /// server's Retry-After (default 1 s), at most 60 times; returns the last response.
    pub fn poll_order(&mut self, url: &str) -> Resp {
        for _ in 0..60 {
            let r = self.post(url, None);
            let o = r.expect(200);
            match o["status"].as_str() {
                Some("processing") => {
                    let secs = r
                        .retry_after()
                        .unwrap_or_else(|| panic!("a processing order has Retry-After: {r}"));
                    assert!((1..=10).contains(&secs), "Retry-After is small: {r}");
                    std::thread::sleep(Duration::from_secs(secs));
                }
                Some("pending") => std::thread::sleep(Duration::from_secs(1)),
                _ => return r,
            }
        }
        panic!("order {url} did not reach a final state");
    }

    /// Polls an authorization while it is `pending` (at most 60 times, 250 ms apart).
    pub fn poll_authz(&mut self, url: &str) -> Value {
        for _ in 0..60 {
            let a = self.fetch(url);
            if a["status"] != "pending" {
                return a;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("authorization {url} stayed pending");
    }

    /// Finalizes with a DER CSR; returns the raw response.
    pub fn finalize(&mut self, order: &Value, csr_der: &[u8]) -> Resp {
        let url = order["finalize"]
            .as_str()
            .expect("finalize URL")
            .to_string();
        self.post(&url, Some(&json!({ "csr": b64(csr_der) })))
    }

    /// Finalizes, polls to a final state, asserts `valid`, and downloads the PEM chain.
    pub fn finalize_and_download(&mut self, order_url: &str, order: &Value, csr: &[u8]) -> String {
        let r = self.finalize(order, csr);
        r.expect(200);
        let r = self.poll_order(order_url);
        let o = r.json();
        assert_eq!(o["status"], "valid", "{r}");
        let cert = o["certificate"]
            .as_str()
            .expect("certificate URL")
            .to_string();
        let r = self.post(&cert, None);
        assert_eq!(r.status, 200, "{r}");
        r.text()
    }

    /// Solves the http-01 challenge of every pending authorization of `order` with `http01`
    /// and waits until each is no longer pending; returns the final authorizations.
    pub fn solve_http01(&mut self, order: &Value, http01: &Http01) -> Vec<Value> {
        let mut out = Vec::new();
        for a in order["authorizations"].as_array().expect("authorizations") {
            let url = a.as_str().expect("authz URL").to_string();
            let z = self.fetch(&url);
            if z["status"] == "pending" {
                let ch = z["challenges"]
                    .as_array()
                    .expect("challenges")
                    .iter()
                    .find(|c| c["type"] == "http-01")
                    .unwrap_or_else(|| panic!("no http-01 challenge: {z}"))
                    .clone();
                let token = ch["token"].as_str().expect("token");
                http01.serve(token, &self.key.key_authorization(token));
                let cu = ch["url"].as_str().expect("challenge URL").to_string();
                self.post(&cu, Some(&json!({}))).expect(200);
                out.push(self.poll_authz(&url));
            } else {
                out.push(z);
            }
        }
        out
    }
}

/// A tiny http-01 responder on 127.0.0.1:`port` serving `/.well-known/acme-challenge/TOKEN`.
pub struct Http01 {
    port: u16,
    tokens: Arc<Mutex<HashMap<String, String>>>,
    stop: Arc<AtomicBool>,
}

impl Http01 {
    pub fn start(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the http-01 port");
        let tokens: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (t, s) = (Arc::clone(&tokens), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let t = Arc::clone(&t);
                    std::thread::spawn(move || answer(conn, &t));
                }
            }
        });
        Self { port, tokens, stop }
    }

    pub fn serve(&self, token: &str, key_authorization: &str) {
        self.tokens
            .lock()
            .expect("lock")
            .insert(token.to_string(), key_authorization.to_string());
    }
}

fn answer(mut conn: TcpStream, tokens: &Mutex<HashMap<String, String>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    // Drain the request headers.
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => break,
            Ok(_) if h == "\r\n" || h == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("");
    let found = path
        .strip_prefix("/.well-known/acme-challenge/")
        .and_then(|t| tokens.lock().ok()?.get(t).cloned());
    let resp = match found {
        Some(body) => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    };
    let _ = conn.write_all(resp.as_bytes());
    let _ = conn.flush();
    let mut sink = [0u8; 64];
    let _ = conn.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = conn.read(&mut sink);
}

impl Drop for Http01 {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

// ---- CSRs ----

/// A CSR made by rcgen: `dns` and `ips` as SANs (none: no extensionRequest), `cn` as the
/// subject commonName; signed by `key`.
pub fn csr(key: &rcgen::KeyPair, cn: Option<&str>, dns: &[&str], ips: &[&str]) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    if let Some(cn) = cn {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
    }
    for d in dns {
        params.subject_alt_names.push(rcgen::SanType::DnsName(
            (*d).try_into().expect("IA5 DNS name"),
        ));
    }
    for ip in ips {
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(ip.parse().expect("IP address")));
    }
    params
        .serialize_request(key)
        .expect("serialize CSR")
        .der()
        .to_vec()
}

/// A P-256 key for a CSR.
pub fn csr_key() -> rcgen::KeyPair {
    rcgen::KeyPair::generate().expect("key")
}

/// A CSR made with OpenSSL in `dir`: the key from `keygen` (arguments that write `key.pem`),
/// the subject `/CN=cn`, SAN `DNS:name`, and `digest` (`-sha256`, `-sha1`, or "" for the
/// key's default, e.g. Ed448). Returns DER.
pub fn openssl_csr(dir: &Path, keygen: &[&str], cn: &str, digest: &str) -> Vec<u8> {
    ok(openssl(dir).args(keygen));
    let mut c = openssl(dir);
    c.args(["req", "-new", "-key", "key.pem", "-subj"])
        .arg(format!("/CN={cn}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{cn}"))
        .args(["-outform", "DER", "-out", "csr.der"]);
    if !digest.is_empty() {
        c.arg(digest);
    }
    ok(&mut c);
    std::fs::read(dir.join("csr.der")).expect("csr.der")
}

/// The certificates of a PEM chain, as DER.
pub fn pem_chain(pem: &str) -> Vec<Vec<u8>> {
    ::pem::parse_many(pem.as_bytes())
        .expect("PEM chain")
        .into_iter()
        .map(|p| {
            assert_eq!(p.tag(), "CERTIFICATE");
            p.into_contents()
        })
        .collect()
}

/// The dNSName and iPAddress SANs of a DER certificate (IP as raw bytes).
pub fn sans(der: &[u8]) -> (Vec<String>, Vec<Vec<u8>>) {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("parse certificate");
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(ip) => ips.push(ip.to_vec()),
                _ => {}
            }
        }
    }
    (dns, ips)
}
