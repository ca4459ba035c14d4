//! The ACME HTTP front end: routes, request authentication (content type, JWS, nonce, URL,
//! key) and rendering of records and problems. No policy: every decision is the RA's.
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;
use time::OffsetDateTime;

use crate::acme::{
    Account, AccountStatus, AccountUpdate, Authorization, AuthorizationStatus, Challenge,
    ChallengeStatus, ChallengeType, Directory, DirectoryMeta, Finalize, NewAccount, NewOrder,
    Order, OrderStatus, Problem, ProblemType,
};
use crate::ra::{to_acme, to_policy, Ra, RaError};
use crate::sa::{AccountRecord, AccountState, AuthzRecord, ChallengeRecord, OrderRecord, Status};
use crate::wfe::eab::ExternalAccountBinding;
use crate::wfe::jwk::Jwk;
use crate::wfe::jws::{RequestKey, SignedRequest, VerifiedRequest, JOSE_CONTENT_TYPE};
use crate::wfe::nonce::{NonceService, REPLAY_NONCE_HEADER};

/// The largest JWS body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// The front end's state.
#[derive(Debug)]
pub struct Wfe {
    ra: Arc<Ra>,
    nonces: Arc<NonceService>,
    base: String,
}

/// An error response: a problem document, maybe with a Location.
struct Failure {
    problem: Box<Problem>,
    location: Option<String>,
}

impl From<Problem> for Failure {
    fn from(problem: Problem) -> Self {
        Self {
            problem: Box::new(problem),
            location: None,
        }
    }
}

impl From<RaError> for Failure {
    fn from(e: RaError) -> Self {
        let mut problem = Problem::new(e.kind, e.detail).with_subproblems(e.subproblems);
        if let Some(s) = e.status {
            problem.status = Some(s);
        }
        Self {
            problem: Box::new(problem),
            location: e.location,
        }
    }
}

impl From<crate::wfe::jws::JwsError> for Failure {
    fn from(e: crate::wfe::jws::JwsError) -> Self {
        Problem::from(e).into()
    }
}

type Result<T> = std::result::Result<T, Failure>;

/// How a request must identify its key (RFC 8555 §6.2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyMode {
    Jwk,
    Kid,
    Either,
}

struct Authed {
    req: VerifiedRequest,
    account: Option<AccountRecord>,
}

fn ts(t: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t).ok()
}

fn order_status(s: Status) -> OrderStatus {
    match s {
        Status::Pending => OrderStatus::Pending,
        Status::Ready => OrderStatus::Ready,
        Status::Processing => OrderStatus::Processing,
        Status::Valid => OrderStatus::Valid,
        _ => OrderStatus::Invalid,
    }
}

fn authz_status(s: Status) -> AuthorizationStatus {
    match s {
        Status::Pending | Status::Processing | Status::Ready => AuthorizationStatus::Pending,
        Status::Valid => AuthorizationStatus::Valid,
        Status::Invalid => AuthorizationStatus::Invalid,
        Status::Deactivated => AuthorizationStatus::Deactivated,
        Status::Expired => AuthorizationStatus::Expired,
        Status::Revoked => AuthorizationStatus::Revoked,
    }
}

fn challenge_status(s: Status) -> ChallengeStatus {
    match s {
        Status::Pending => ChallengeStatus::Pending,
        Status::Processing => ChallengeStatus::Processing,
        Status::Valid => ChallengeStatus::Valid,
        _ => ChallengeStatus::Invalid,
    }
}

fn stored_problem(v: &Option<serde_json::Value>) -> Option<Problem> {
    v.as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

impl Wfe {
    /// A front end for `ra`, with URLs under `base` (`https://host:port`).
    pub fn new(ra: Arc<Ra>, nonces: Arc<NonceService>, base: String) -> Self {
        Self { ra, nonces, base }
    }

    fn url(&self, cluster: &str, path: &str) -> String {
        format!("{}/acme/{cluster}/{path}", self.base)
    }

    fn account_url(&self, cluster: &str, id: &str) -> String {
        self.url(cluster, &format!("acct/{id}"))
    }

    /// Common headers: a fresh nonce and the directory link (RFC 8555 §6.5, §7.1).
    fn headers(&self, cluster: &str, h: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(&self.nonces.issue()) {
            h.insert(REPLAY_NONCE_HEADER, v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!(
            "<{}>;rel=\"index\"",
            self.url(cluster, "directory")
        )) {
            h.append(header::LINK, v);
        }
    }

    fn problem(&self, cluster: &str, f: Failure) -> Response {
        let status =
            StatusCode::from_u16(f.problem.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = serde_json::to_vec(&f.problem).unwrap_or_default();
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(Problem::CONTENT_TYPE),
        );
        if let Some(loc) = f.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            h.insert(header::LOCATION, loc);
        }
        self.headers(cluster, h);
        resp
    }

    fn json<T: serde::Serialize>(
        &self,
        cluster: &str,
        status: StatusCode,
        body: &T,
        location: Option<String>,
    ) -> Response {
        let mut resp = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            h.insert(header::LOCATION, loc);
        }
        self.headers(cluster, h);
        resp
    }

    fn check_cluster(&self, cluster: &str) -> Result<()> {
        if self.ra.cluster(cluster).is_none() {
            let mut p = Problem::new(
                ProblemType::Malformed,
                format!("no active cluster {cluster:?} on this server"),
            );
            p.status = Some(404);
            return Err(p.into());
        }
        Ok(())
    }

    /// Content type, JWS, nonce, URL and key, in that order.
    async fn authenticate(
        &self,
        cluster: &str,
        path: &str,
        headers: &HeaderMap,
        body: Body,
        mode: KeyMode,
    ) -> Result<Authed> {
        self.check_cluster(cluster)?;
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if ct.split(';').next().map(str::trim) != Some(JOSE_CONTENT_TYPE) {
            let mut p = Problem::new(
                ProblemType::Malformed,
                format!("Content-Type must be {JOSE_CONTENT_TYPE}, not {ct:?}"),
            );
            p.status = Some(415);
            return Err(p.into());
        }
        let bytes = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                let mut p = Problem::new(
                    ProblemType::Malformed,
                    format!("request body larger than {MAX_BODY} bytes"),
                );
                p.status = Some(413);
                return Err(p.into());
            }
        };
        let signed = SignedRequest::parse(&bytes)?;
        signed.check_url(&self.url(cluster, path))?;
        // The nonce is redeemed only once the signature has verified, so nobody can burn
        // nonces (and move the replay window) with unsigned junk; a bad nonce on a good
        // signature is still badNonce.
        let nonce = signed.nonce().to_string();
        let authed: Result<Authed> = match (&signed.header().key, mode) {
            (RequestKey::Jwk(_), KeyMode::Jwk | KeyMode::Either) => {
                let req = signed.verify_with_embedded_jwk()?;
                Ok(Authed { req, account: None })
            }
            (RequestKey::Kid(kid), KeyMode::Kid | KeyMode::Either) => {
                let prefix = self.url(cluster, "acct/");
                let id = kid.strip_prefix(&prefix).filter(|id| !id.is_empty() && !id.contains('/')).ok_or_else(|| {
                    Failure::from(Problem::new(ProblemType::AccountDoesNotExist, format!("kid {kid:?} is not an account URL of this cluster (expected {prefix}ID)")))
                })?;
                let account = self.ra.account(cluster, id)?;
                let jwk = Jwk::from_json(&account.jwk)
                    .map_err(|_| Failure::from(Problem::server_internal()))?;
                let req = signed.verify(&jwk)?;
                if account.status != AccountState::Valid {
                    return Err(Problem::new(
                        ProblemType::Unauthorized,
                        format!("account {} is {:?}", account.id, account.status).to_lowercase(),
                    )
                    .into());
                }
                Ok(Authed {
                    req,
                    account: Some(account),
                })
            }
            (RequestKey::Kid(_), KeyMode::Jwk) => Err(Problem::new(
                ProblemType::Malformed,
                "this request must be signed with a jwk, not a kid",
            )
            .into()),
            (RequestKey::Jwk(_), KeyMode::Kid) => Err(Problem::new(
                ProblemType::Malformed,
                "this request must be signed with the account's kid, not a jwk",
            )
            .into()),
        };
        let authed = authed?;
        self.nonces.redeem(&nonce).map_err(Problem::from)?;
        Ok(authed)
    }

    /// A request signed by an account (`kid`), and that account.
    async fn with_account(
        &self,
        cluster: &str,
        path: &str,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<(VerifiedRequest, AccountRecord)> {
        let a = self
            .authenticate(cluster, path, headers, body, KeyMode::Kid)
            .await?;
        let account = a
            .account
            .ok_or_else(|| Failure::from(Problem::server_internal()))?;
        Ok((a.req, account))
    }

    /// An order object with its Location (and Retry-After while processing).
    fn order_response(&self, cluster: &str, o: &OrderRecord) -> Response {
        let resp = self.json(
            cluster,
            StatusCode::OK,
            &self.order_json(o),
            Some(self.url(cluster, &format!("order/{}", o.id))),
        );
        Self::with_retry_after(resp, o)
    }

    fn account_json(&self, a: &AccountRecord) -> Account {
        Account {
            status: match a.status {
                AccountState::Valid => AccountStatus::Valid,
                AccountState::Deactivated => AccountStatus::Deactivated,
                AccountState::Revoked => AccountStatus::Revoked,
            },
            contact: a.contact.clone(),
            terms_of_service_agreed: None,
            external_account_binding: None,
            orders: self.url(&a.cluster, &format!("acct/{}/orders", a.id)),
        }
    }

    fn order_json(&self, o: &OrderRecord) -> Order {
        Order {
            status: order_status(o.status),
            expires: ts(o.expires),
            identifiers: o
                .identifiers
                .iter()
                .filter_map(|i| i.to_identifier())
                .map(|i| to_acme(&i))
                .collect(),
            not_before: o.not_before.and_then(ts),
            not_after: o.not_after.and_then(ts),
            error: stored_problem(&o.error),
            authorizations: o
                .authz_ids
                .iter()
                .map(|id| self.url(&o.cluster, &format!("authz/{id}")))
                .collect(),
            finalize: self.url(&o.cluster, &format!("order/{}/finalize", o.id)),
            certificate: o
                .certificate_serial
                .as_ref()
                .map(|s| self.url(&o.cluster, &format!("cert/{s}"))),
        }
    }

    fn challenge_json(&self, a: &AuthzRecord, c: &ChallengeRecord) -> Challenge {
        Challenge {
            kind: ChallengeType::Http01,
            url: self.url(&a.cluster, &format!("chall/{}/{}", a.id, c.id)),
            status: challenge_status(c.status),
            token: c.token.clone(),
            validated: c.validated.and_then(ts),
            error: stored_problem(&c.error),
        }
    }

    fn authz_json(&self, a: &AuthzRecord) -> Authorization {
        let id = a
            .identifier
            .to_identifier()
            .map(|i| to_acme(&i))
            .unwrap_or(crate::acme::Identifier::Dns(a.identifier.value.clone()));
        Authorization {
            identifier: id,
            status: authz_status(a.status),
            expires: ts(a.expires),
            challenges: a
                .challenges
                .iter()
                .map(|c| self.challenge_json(a, c))
                .collect(),
            wildcard: a.wildcard,
        }
    }

    fn with_retry_after(mut resp: Response, o: &OrderRecord) -> Response {
        if o.status == Status::Processing {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

type St = State<Arc<Wfe>>;

/// The ACME router.
pub fn router(wfe: Arc<Wfe>) -> Router {
    Router::new()
        .route("/acme/{cluster}/directory", get(directory))
        .route("/acme/{cluster}/new-nonce", get(new_nonce).head(new_nonce))
        .route("/acme/{cluster}/new-account", post(new_account))
        .route("/acme/{cluster}/new-order", post(new_order))
        .route("/acme/{cluster}/acct/{id}", post(account))
        .route("/acme/{cluster}/acct/{id}/orders", post(account_orders))
        .route("/acme/{cluster}/order/{id}", post(order))
        .route("/acme/{cluster}/order/{id}/finalize", post(finalize))
        .route("/acme/{cluster}/authz/{id}", post(authz))
        .route("/acme/{cluster}/chall/{authz}/{chall}", post(challenge))
        .route("/acme/{cluster}/cert/{serial}", post(certificate))
        .route("/acme/{cluster}/key-change", post(key_change))
        .route("/acme/{cluster}/revoke-cert", post(revoke_cert))
        .fallback(not_found)
        .with_state(wfe)
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    let mut p = Problem::new(
        ProblemType::Malformed,
        format!("no such resource: {method} {}", uri.path()),
    );
    p.status = Some(404);
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, Problem::CONTENT_TYPE)],
        serde_json::to_vec(&p).unwrap_or_default(),
    )
        .into_response()
}

async fn directory(State(w): St, Path(cluster): Path<String>) -> Response {
    if let Err(f) = w.check_cluster(&cluster) {
        return w.problem(&cluster, f);
    }
    let d = Directory {
        new_nonce: w.url(&cluster, "new-nonce"),
        new_account: w.url(&cluster, "new-account"),
        new_order: w.url(&cluster, "new-order"),
        new_authz: None,
        revoke_cert: w.url(&cluster, "revoke-cert"),
        key_change: w.url(&cluster, "key-change"),
        renewal_info: None,
        meta: Some(DirectoryMeta {
            external_account_required: true,
            ..Default::default()
        }),
    };
    let mut resp = (StatusCode::OK, serde_json::to_vec(&d).unwrap_or_default()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

async fn new_nonce(State(w): St, method: Method, Path(cluster): Path<String>) -> Response {
    if let Err(f) = w.check_cluster(&cluster) {
        return w.problem(&cluster, f);
    }
    let status = if method == Method::HEAD {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    };
    let mut resp = status.into_response();
    w.headers(&cluster, resp.headers_mut());
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

macro_rules! handle {
    ($w:expr, $cluster:expr, $body:expr) => {
        match $body {
            Ok(r) => r,
            Err(f) => $w.problem(&$cluster, f),
        }
    };
}

async fn new_account(
    State(w): St,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let a = w.authenticate(&cluster, "new-account", &headers, body, KeyMode::Jwk).await?;
        let payload: NewAccount = a.req.json()?;
        let jwk = a.req.key().clone();
        // An existing key gets its account back, with or without EAB and onlyReturnExisting
        // (RFC 8555 §7.3.1; FIELD-CASES C06 (2), (3)).
        if let Some(existing) = w.ra.account_by_key(&cluster, &jwk)? {
            return Ok(w.json(&cluster, StatusCode::OK, &w.account_json(&existing), Some(w.account_url(&cluster, &existing.id))));
        }
        if payload.only_return_existing {
            return Err(Problem::new(ProblemType::AccountDoesNotExist, "no account exists with this key").into());
        }
        let Some(binding) = &payload.external_account_binding else {
            return Err(Problem::new(ProblemType::ExternalAccountRequired, "this server requires externalAccountBinding: mint a key with `fleetca account new`").into());
        };
        let eab = ExternalAccountBinding::parse(binding, &jwk, &w.url(&cluster, "new-account"))?;
        let acct = w.ra.create_account(&cluster, &jwk, &eab, payload.contact.clone())?;
        Ok(w.json(&cluster, StatusCode::CREATED, &w.account_json(&acct), Some(w.account_url(&cluster, &acct.id))))
    }
    .await;
    handle!(w, cluster, r)
}

async fn account(
    State(w): St,
    Path((cluster, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let (req, acct) = w
            .with_account(&cluster, &format!("acct/{id}"), &headers, body)
            .await?;
        if acct.id != id {
            return Err(Problem::new(
                ProblemType::Unauthorized,
                "a request about an account must be signed by that account",
            )
            .into());
        }
        let acct = if req.is_post_as_get() {
            acct
        } else {
            let u: AccountUpdate = req.json()?;
            let deactivate = match u.status {
                None => false,
                Some(AccountStatus::Deactivated) => true,
                Some(other) => {
                    return Err(Problem::new(
                        ProblemType::Malformed,
                        format!("an account can only be set to deactivated, not {other:?}"),
                    )
                    .into())
                }
            };
            w.ra.update_account(acct, u.contact, deactivate)?
        };
        Ok(w.json(
            &cluster,
            StatusCode::OK,
            &w.account_json(&acct),
            Some(w.account_url(&cluster, &acct.id)),
        ))
    }
    .await;
    handle!(w, cluster, r)
}

async fn account_orders(
    State(w): St,
    Path((cluster, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let (req, acct) = w
            .with_account(&cluster, &format!("acct/{id}/orders"), &headers, body)
            .await?;
        req.expect_post_as_get()?;
        if acct.id != id {
            return Err(
                Problem::new(ProblemType::Unauthorized, "orders of another account").into(),
            );
        }
        let orders: Vec<String> =
            w.ra.orders_of(&acct)?
                .iter()
                .map(|o| w.url(&cluster, &format!("order/{}", o.id)))
                .collect();
        Ok(w.json(
            &cluster,
            StatusCode::OK,
            &serde_json::json!({ "orders": orders }),
            None,
        ))
    }
    .await;
    handle!(w, cluster, r)
}

async fn new_order(
    State(w): St,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let (req, acct) = w
            .with_account(&cluster, "new-order", &headers, body)
            .await?;
        let payload: NewOrder = req.json()?;
        let mut ids = Vec::new();
        for r in &payload.identifiers {
            ids.push(to_policy(&r.parse().map_err(Problem::from)?));
        }
        let o =
            w.ra.new_order(&acct, &ids, payload.not_before, payload.not_after)?;
        Ok(w.json(
            &cluster,
            StatusCode::CREATED,
            &w.order_json(&o),
            Some(w.url(&cluster, &format!("order/{}", o.id))),
        ))
    }
    .await;
    handle!(w, cluster, r)
}

async fn order(
    State(w): St,
    Path((cluster, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let (req, acct) = w
            .with_account(&cluster, &format!("order/{id}"), &headers, body)
            .await?;
        req.expect_post_as_get()?;
        let o = w.ra.order(&acct, &id)?;
        Ok(w.order_response(&cluster, &o))
    }
    .await;
    handle!(w, cluster, r)
}

async fn finalize(
    State(w): St,
    Path((cluster, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let (req, acct) = w
            .with_account(&cluster, &format!("order/{id}/finalize"), &headers, body)
            .await?;
        let payload: Finalize = req.json()?;
        let csr = payload
            .csr_der()
            .map_err(|e| Failure::from(Problem::new(ProblemType::BadCsr, e.to_string())))?;
        let o = w.ra.finalize(&acct, &id, &csr).await?;
        Ok(w.order_response(&cluster, &o))
    }
    .await;
    handle!(w, cluster, r)
}

async fn authz(
    State(w): St,
    Path((cluster, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let (req, acct) = w
            .with_account(&cluster, &format!("authz/{id}"), &headers, body)
            .await?;
        let z = if req.is_post_as_get() {
            w.ra.authz(&acct, &id)?
        } else {
            let v: serde_json::Value = req.json()?;
            if v.get("status").and_then(|s| s.as_str()) != Some("deactivated") {
                return Err(Problem::new(
                    ProblemType::Malformed,
                    "an authorization update must be {\"status\":\"deactivated\"}",
                )
                .into());
            }
            w.ra.deactivate_authz(&acct, &id)?
        };
        Ok(w.json(&cluster, StatusCode::OK, &w.authz_json(&z), None))
    }
    .await;
    handle!(w, cluster, r)
}

async fn challenge(
    State(w): St,
    Path((cluster, authz, chall)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let (req, acct) = w
            .with_account(&cluster, &format!("chall/{authz}/{chall}"), &headers, body)
            .await?;
        let (z, c) = if req.is_post_as_get() {
            let z = w.ra.authz(&acct, &authz)?;
            let c = z
                .challenges
                .iter()
                .find(|c| c.id == chall)
                .cloned()
                .ok_or_else(|| {
                    Failure::from(Problem::new(ProblemType::Malformed, "no such challenge"))
                })?;
            (z, c)
        } else {
            w.ra.respond_challenge(&acct, &authz, &chall)?
        };
        let mut resp = w.json(&cluster, StatusCode::OK, &w.challenge_json(&z, &c), None);
        if let Ok(v) = HeaderValue::from_str(&format!(
            "<{}>;rel=\"up\"",
            w.url(&cluster, &format!("authz/{authz}"))
        )) {
            resp.headers_mut().append(header::LINK, v);
        }
        Ok(resp)
    }
    .await;
    handle!(w, cluster, r)
}

async fn certificate(
    State(w): St,
    Path((cluster, serial)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let (req, acct) = w
            .with_account(&cluster, &format!("cert/{serial}"), &headers, body)
            .await?;
        req.expect_post_as_get()?;
        let chain = w.ra.certificate_chain(&acct, &serial)?;
        let mut resp = (StatusCode::OK, Bytes::from(chain)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/pem-certificate-chain"),
        );
        w.headers(&cluster, resp.headers_mut());
        Ok(resp)
    }
    .await;
    handle!(w, cluster, r)
}

async fn key_change(
    State(w): St,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let (req, acct) = w
            .with_account(&cluster, "key-change", &headers, body)
            .await?;
        let new_key = crate::wfe::key_change::verify_key_change(&req)?;
        let acct =
            w.ra.change_key(acct, &new_key, |id| w.account_url(&cluster, id))?;
        Ok(w.json(
            &cluster,
            StatusCode::OK,
            &w.account_json(&acct),
            Some(w.account_url(&cluster, &acct.id)),
        ))
    }
    .await;
    handle!(w, cluster, r)
}

async fn revoke_cert(
    State(w): St,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r = async {
        let a = w
            .authenticate(&cluster, "revoke-cert", &headers, body, KeyMode::Either)
            .await?;
        let payload: crate::acme::RevokeCert = a.req.json()?;
        let der = payload.certificate_der().map_err(Problem::from)?;
        w.ra.revoke_by_request(
            &cluster,
            a.account.as_ref(),
            a.req.key(),
            &der,
            payload.reason,
        )?;
        let mut resp = StatusCode::OK.into_response();
        w.headers(&cluster, resp.headers_mut());
        Ok(resp)
    }
    .await;
    handle!(w, cluster, r)
}
