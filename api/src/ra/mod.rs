//! The registration authority: accounts and their External Account Binding, orders,
//! authorizations and challenges, and every policy decision. It speaks in records and
//! [`RaError`]s; only the front end renders HTTP.
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use fleetca::policy::{self, Authorization, Identifier, Scope};
use ring::rand::SecureRandom;
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::acme::{ProblemType, Subproblem};
use crate::ca::{CaError, ClusterCa, LeafRequest};
use crate::config::IssuanceConfig;
use crate::sa::{
    AccountKeyRecord, AccountRecord, AccountState, AuthzRecord, ChallengeRecord, EabRecord,
    OrderRecord, Status, Storage, StorageExt, StoreError, StoredIdentifier, Table,
};
use crate::va::Validator;
use crate::wfe::eab::ExternalAccountBinding;
use crate::wfe::jwk::Jwk;

/// How long an order, a pending authorization and a valid authorization live.
const ORDER_LIFETIME: i64 = 24 * 3600;
const PENDING_AUTHZ_LIFETIME: i64 = 24 * 3600;
const VALID_AUTHZ_LIFETIME: i64 = 7 * 24 * 3600;
/// How long finalize waits for the signature before answering `processing`.
const FINALIZE_WAIT: Duration = Duration::from_secs(3);
/// The longest an issuance may take before the order is marked invalid (FIELD-CASES C04).
const ISSUANCE_TIMEOUT: Duration = Duration::from_secs(60);

/// An RA decision or failure, in ACME terms.
#[derive(Debug, Clone)]
pub struct RaError {
    /// The problem type.
    pub kind: ProblemType,
    /// Human-readable detail.
    pub detail: String,
    /// Per-identifier problems.
    pub subproblems: Vec<Subproblem>,
    /// An HTTP status other than the type's default (409 for a key already in use).
    pub status: Option<u16>,
    /// A Location to return (the account already using a key).
    pub location: Option<String>,
}

impl RaError {
    /// A problem of `kind` with `detail`.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            subproblems: vec![],
            status: None,
            location: None,
        }
    }
}

impl From<StoreError> for RaError {
    fn from(e: StoreError) -> Self {
        warn!(error = %e, "storage failure");
        Self::new(ProblemType::ServerInternal, "internal storage error")
    }
}

type Result<T> = std::result::Result<T, RaError>;

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A random URL-safe id.
pub fn random_id() -> Result<String> {
    use base64::Engine;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| RaError::new(ProblemType::ServerInternal, "no randomness"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// The active cluster CAs, shared with the admin role that adds them.
pub type Clusters = Arc<RwLock<HashMap<String, Arc<ClusterCa>>>>;

/// The registration authority.
#[derive(Debug)]
pub struct Ra {
    store: Arc<dyn Storage>,
    clusters: Clusters,
    issuance: IssuanceConfig,
    validator: Arc<Validator>,
    revocation: Arc<crate::revocation::Revocation>,
}

/// Converts an ACME identifier to the policy type, lower-casing DNS names.
pub fn to_policy(id: &crate::acme::Identifier) -> Identifier {
    match id {
        crate::acme::Identifier::Dns(d) => Identifier::Dns(d.to_ascii_lowercase()),
        crate::acme::Identifier::Ip(ip) => Identifier::Ip(*ip),
    }
}

/// Converts a policy identifier to the ACME type.
pub fn to_acme(id: &Identifier) -> crate::acme::Identifier {
    match id {
        Identifier::Dns(d) => crate::acme::Identifier::Dns(d.clone()),
        Identifier::Ip(ip) => crate::acme::Identifier::Ip(*ip),
    }
}

impl Ra {
    /// An RA over `store` issuing from `clusters`.
    pub fn new(
        store: Arc<dyn Storage>,
        clusters: Clusters,
        issuance: IssuanceConfig,
        validator: Arc<Validator>,
        revocation: Arc<crate::revocation::Revocation>,
    ) -> Self {
        Self {
            store,
            clusters,
            issuance,
            validator,
            revocation,
        }
    }

    /// The store (read access for the front end).
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.store
    }

    /// The active CA for `cluster`.
    pub fn cluster(&self, cluster: &str) -> Option<Arc<ClusterCa>> {
        self.clusters.read().ok()?.get(cluster).cloned()
    }

    fn scope(&self, acct: &AccountRecord) -> Scope {
        Scope {
            namespace: acct.namespace.clone(),
            suffixes: acct.suffixes.clone(),
            cluster_domain: self.issuance.cluster_domain.clone(),
        }
    }

    /// On start: orders left `processing` by a crash become `invalid`, so no client waits
    /// forever (FIELD-CASES C04).
    pub fn recover(&self) -> Result<()> {
        for mut o in self.store.list::<OrderRecord>("")? {
            if o.status == Status::Processing {
                o.status = Status::Invalid;
                o.error = Some(problem_json(
                    ProblemType::ServerInternal,
                    "the server restarted while this order was being signed; create a new order",
                ));
                self.store.save(&o)?;
            }
        }
        self.store.flush()?;
        Ok(())
    }

    // ---- accounts (RFC 8555 §7.3) ----

    /// The account holding `jwk` on `cluster`, if any.
    pub fn account_by_key(&self, cluster: &str, jwk: &Jwk) -> Result<Option<AccountRecord>> {
        let Some(idx) = self
            .store
            .load::<AccountKeyRecord>(&AccountKeyRecord::key_for(cluster, &jwk.thumbprint()))?
        else {
            return Ok(None);
        };
        Ok(self.store.load::<AccountRecord>(&idx.account_id)?)
    }

    /// The account `id` on `cluster`.
    pub fn account(&self, cluster: &str, id: &str) -> Result<AccountRecord> {
        match self.store.load::<AccountRecord>(id)? {
            Some(a) if a.cluster == cluster => Ok(a),
            _ => Err(RaError::new(
                ProblemType::AccountDoesNotExist,
                format!("no account {id} on cluster {cluster}"),
            )),
        }
    }

    /// Creates an account bound by `eab` (already parsed against `jwk` and the request URL).
    pub fn create_account(
        &self,
        cluster: &str,
        jwk: &Jwk,
        eab: &ExternalAccountBinding,
        contact: Vec<String>,
    ) -> Result<AccountRecord> {
        let unknown = || {
            RaError::new(
                ProblemType::Unauthorized,
                format!(
                    "external account binding key {:?} is not known on cluster {cluster}",
                    eab.key_id()
                ),
            )
        };
        let raw = self
            .store
            .get(Table::Eab, eab.key_id())?
            .ok_or_else(unknown)?;
        let record: EabRecord = serde_json::from_slice(&raw)
            .map_err(|_| RaError::new(ProblemType::ServerInternal, "corrupt EAB record"))?;
        if record.cluster != cluster {
            return Err(unknown());
        }
        let key = crate::wfe::eab::EabKey::from_base64url(&record.hmac_key)
            .map_err(|_| RaError::new(ProblemType::ServerInternal, "corrupt EAB key"))?;
        eab.verify(&key)
            .map_err(|e| RaError::new(ProblemType::Unauthorized, e.to_string()))?;
        if let Some(bound) = &record.account_id {
            return Err(RaError::new(
                ProblemType::Unauthorized,
                format!("external account binding key {:?} is already bound to account {bound}, which has a different key", record.kid),
            ));
        }
        for c in &contact {
            if !c.starts_with("mailto:") {
                return Err(RaError::new(
                    ProblemType::UnsupportedContact,
                    format!("contact {c:?} is not a mailto: URL"),
                ));
            }
        }
        let account = AccountRecord {
            id: random_id()?,
            cluster: cluster.to_string(),
            namespace: record.namespace.clone(),
            suffixes: record.suffixes.clone(),
            jwk: jwk.to_json(),
            thumbprint: jwk.thumbprint(),
            status: AccountState::Valid,
            contact,
            eab_kid: record.kid.clone(),
            created: now(),
        };
        // Bind the EAB key first (compare-and-swap: two concurrent registrations with one
        // key cannot both win), then write the account and its key index.
        let mut bound = record.clone();
        bound.account_id = Some(account.id.clone());
        let new = serde_json::to_vec(&bound)
            .map_err(|_| RaError::new(ProblemType::ServerInternal, "encode"))?;
        if !self
            .store
            .compare_and_swap(Table::Eab, &record.kid, Some(&raw), new)?
        {
            return Err(RaError::new(
                ProblemType::Unauthorized,
                format!(
                    "external account binding key {:?} was just used by another registration",
                    record.kid
                ),
            ));
        }
        self.store.save(&account)?;
        let idx = AccountKeyRecord {
            cluster_thumbprint: AccountKeyRecord::key_for(cluster, &account.thumbprint),
            account_id: account.id.clone(),
        };
        if !self.store.insert_new(&idx)? {
            return Err(RaError::new(
                ProblemType::Malformed,
                "this key was registered by a concurrent request; retry",
            ));
        }
        self.store.flush()?;
        info!(account = %account.id, cluster, namespace = %account.namespace, eab = %record.kid, "account created");
        Ok(account)
    }

    /// Applies an account update (contact, deactivation).
    pub fn update_account(
        &self,
        mut acct: AccountRecord,
        contact: Option<Vec<String>>,
        deactivate: bool,
    ) -> Result<AccountRecord> {
        if let Some(c) = contact {
            if let Some(bad) = c.iter().find(|c| !c.starts_with("mailto:")) {
                return Err(RaError::new(
                    ProblemType::UnsupportedContact,
                    format!("contact {bad:?} is not a mailto: URL"),
                ));
            }
            acct.contact = c;
        }
        if deactivate {
            acct.status = AccountState::Deactivated;
            info!(account = %acct.id, "account deactivated");
        }
        self.store.save(&acct)?;
        self.store.flush()?;
        Ok(acct)
    }

    /// Rolls the account over to `new_key` (RFC 8555 §7.3.5). `account_url` is where the
    /// account holding the key is found, for the 409 answer.
    pub fn change_key(
        &self,
        mut acct: AccountRecord,
        new_key: &Jwk,
        account_url: impl Fn(&str) -> String,
    ) -> Result<AccountRecord> {
        if let Some(other) = self.account_by_key(&acct.cluster, new_key)? {
            let mut e = RaError::new(
                ProblemType::Malformed,
                "the new key is already used by an account",
            );
            e.status = Some(409);
            e.location = Some(account_url(&other.id));
            return Err(e);
        }
        let idx = AccountKeyRecord {
            cluster_thumbprint: AccountKeyRecord::key_for(&acct.cluster, &new_key.thumbprint()),
            account_id: acct.id.clone(),
        };
        if !self.store.insert_new(&idx)? {
            return Err(RaError::new(
                ProblemType::Malformed,
                "the new key was registered concurrently",
            ));
        }
        let old = AccountKeyRecord::key_for(&acct.cluster, &acct.thumbprint);
        acct.jwk = new_key.to_json();
        acct.thumbprint = new_key.thumbprint();
        self.store.save(&acct)?;
        self.store.put(
            Table::AccountKeys,
            &old,
            b"{\"cluster_thumbprint\":\"\",\"account_id\":\"\"}".to_vec(),
        )?;
        self.store.flush()?;
        info!(account = %acct.id, "account key changed");
        Ok(acct)
    }

    // ---- orders (RFC 8555 §7.4) ----

    /// Checks every identifier against policy; refusals are collected into one
    /// `rejectedIdentifier` with a subproblem each.
    fn check_identifiers(
        &self,
        acct: &AccountRecord,
        ca: &ClusterCa,
        ids: &[Identifier],
    ) -> Result<Vec<Authorization>> {
        let scope = self.scope(acct);
        let mut out = Vec::new();
        let mut subs = Vec::new();
        for id in ids {
            match policy::check(id, &scope, &ca.constraints) {
                Ok(a) => out.push(a),
                Err(refusal) => subs.push(Subproblem::new(
                    ProblemType::RejectedIdentifier,
                    refusal.explain(&scope),
                    to_acme(id),
                )),
            }
        }
        if subs.is_empty() {
            return Ok(out);
        }
        let detail = if subs.len() == 1 {
            subs[0].detail.clone().unwrap_or_default()
        } else {
            format!(
                "{} identifiers refused: {}",
                subs.len(),
                subs.iter()
                    .filter_map(|s| s.detail.as_deref())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        let mut e = RaError::new(ProblemType::RejectedIdentifier, detail);
        e.subproblems = subs;
        Err(e)
    }

    /// Creates an order. Identifiers in the account's scope get authorizations that are valid
    /// at once; others get an http-01 challenge; a valid or pending authorization of the same
    /// account for the same identifier is reused (FIELD-CASES C05).
    pub fn new_order(
        &self,
        acct: &AccountRecord,
        requested: &[Identifier],
        not_before: Option<OffsetDateTime>,
        not_after: Option<OffsetDateTime>,
    ) -> Result<OrderRecord> {
        let ca = self
            .cluster(&acct.cluster)
            .ok_or_else(|| RaError::new(ProblemType::ServerInternal, "cluster is not active"))?;
        if requested.is_empty() {
            return Err(RaError::new(
                ProblemType::Malformed,
                "an order needs at least one identifier",
            ));
        }
        if requested.len() > 100 {
            return Err(RaError::new(
                ProblemType::RejectedIdentifier,
                "at most 100 identifiers per order",
            ));
        }
        let ids: Vec<Identifier> = requested
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let auths = self.check_identifiers(acct, &ca, &ids)?;
        let t = now();
        if let (Some(nb), Some(na)) = (not_before, not_after) {
            if na <= nb {
                return Err(RaError::new(
                    ProblemType::Malformed,
                    "notAfter must be after notBefore",
                ));
            }
        }
        let start = not_before.map_or(t, |v| v.unix_timestamp());
        let end = not_after.map_or(start + self.issuance.default_days * 86400, |v| {
            v.unix_timestamp()
        });
        if end - start > self.issuance.max_days * 86400 {
            return Err(RaError::new(
                ProblemType::Malformed,
                format!(
                    "the longest lifetime this service issues is {} days",
                    self.issuance.max_days
                ),
            ));
        }
        if end <= t {
            return Err(RaError::new(
                ProblemType::Malformed,
                "notAfter is in the past",
            ));
        }
        // No backdating beyond clock skew, and no certificates that start far in the future.
        if start < t - 3600 || start > t + 30 * 86400 {
            return Err(RaError::new(
                ProblemType::Malformed,
                "notBefore must be between an hour ago and 30 days from now",
            ));
        }

        let mut authz_ids = Vec::new();
        for (id, auth) in ids.iter().zip(auths) {
            let (base, wildcard) = match id {
                Identifier::Dns(d) if d.starts_with("*.") => {
                    (Identifier::Dns(d[2..].to_string()), true)
                }
                other => (other.clone(), false),
            };
            let stored = StoredIdentifier::from(&base);
            let index_key = format!(
                "authz-index/{}/{}/{}/{}",
                acct.id, stored.kind, stored.value, wildcard
            );
            if let Some(existing) = self.store.get(Table::Meta, &index_key)? {
                let existing = String::from_utf8_lossy(&existing).into_owned();
                if let Some(a) = self.store.load::<AuthzRecord>(&existing)? {
                    if matches!(a.status, Status::Valid | Status::Pending) && a.expires > t + 3600 {
                        authz_ids.push(a.id);
                        continue;
                    }
                }
            }
            let by_binding = auth == Authorization::ByBinding;
            let challenges = if by_binding {
                vec![]
            } else {
                if wildcard {
                    return Err(RaError::new(
                        ProblemType::RejectedIdentifier,
                        format!("{id}: wildcards need dns-01, which is not offered"),
                    ));
                }
                vec![ChallengeRecord {
                    id: random_id()?,
                    kind: "http-01".into(),
                    token: random_id()?,
                    status: Status::Pending,
                    validated: None,
                    error: None,
                }]
            };
            let a = AuthzRecord {
                id: random_id()?,
                account_id: acct.id.clone(),
                cluster: acct.cluster.clone(),
                identifier: stored,
                wildcard,
                status: if by_binding {
                    Status::Valid
                } else {
                    Status::Pending
                },
                expires: t + if by_binding {
                    VALID_AUTHZ_LIFETIME
                } else {
                    PENDING_AUTHZ_LIFETIME
                },
                by_binding,
                challenges,
            };
            self.store.save(&a)?;
            self.store
                .put(Table::Meta, &index_key, a.id.clone().into_bytes())?;
            authz_ids.push(a.id);
        }
        let mut order = OrderRecord {
            id: random_id()?,
            account_id: acct.id.clone(),
            cluster: acct.cluster.clone(),
            identifiers: ids.iter().map(StoredIdentifier::from).collect(),
            status: Status::Pending,
            authz_ids,
            expires: t + ORDER_LIFETIME,
            not_before: not_before.map(|v| v.unix_timestamp()),
            not_after: not_after.map(|v| v.unix_timestamp()),
            error: None,
            certificate_serial: None,
            created: t,
        };
        self.refresh_order(&mut order)?;
        self.store.save(&order)?;
        self.store.flush()?;
        info!(order = %order.id, account = %acct.id, identifiers = ?ids.iter().map(|i| i.to_string()).collect::<Vec<_>>(), status = ?order.status, "order created");
        Ok(order)
    }

    /// Recomputes a pending order's status from its authorizations: `ready` as soon as the last
    /// one is valid, `invalid` if one failed or the order expired.
    fn refresh_order(&self, order: &mut OrderRecord) -> Result<()> {
        if order.status != Status::Pending {
            return Ok(());
        }
        if order.expires <= now() {
            order.status = Status::Invalid;
            order.error = Some(problem_json(ProblemType::Malformed, "the order expired"));
            return Ok(());
        }
        let mut all_valid = true;
        for id in &order.authz_ids {
            let a = self.load_authz(id)?;
            match a.status {
                Status::Valid if a.expires > now() => {}
                Status::Pending | Status::Processing => all_valid = false,
                _ => {
                    order.status = Status::Invalid;
                    order.error = Some(problem_json(
                        ProblemType::Unauthorized,
                        format!("authorization for {} is {:?}", a.identifier.value, a.status),
                    ));
                    return Ok(());
                }
            }
        }
        if all_valid {
            order.status = Status::Ready;
        }
        Ok(())
    }

    fn load_authz(&self, id: &str) -> Result<AuthzRecord> {
        let mut a = self.store.load::<AuthzRecord>(id)?.ok_or_else(|| {
            RaError::new(ProblemType::Malformed, format!("no authorization {id}"))
        })?;
        if matches!(a.status, Status::Pending | Status::Valid) && a.expires <= now() {
            a.status = Status::Expired;
        }
        Ok(a)
    }

    /// The order `id`, owned by `acct`, with its status brought up to date.
    pub fn order(&self, acct: &AccountRecord, id: &str) -> Result<OrderRecord> {
        let mut o = match self.store.load::<OrderRecord>(id)? {
            Some(o) if o.account_id == acct.id => o,
            _ => {
                return Err(RaError::new(
                    ProblemType::Malformed,
                    format!("no order {id} for this account"),
                ))
            }
        };
        let before = o.status;
        self.refresh_order(&mut o)?;
        if o.status != before {
            self.store.save(&o)?;
            self.store.flush()?;
        }
        Ok(o)
    }

    /// Every order of an account (the account's `orders` list).
    pub fn orders_of(&self, acct: &AccountRecord) -> Result<Vec<OrderRecord>> {
        Ok(self
            .store
            .list::<OrderRecord>("")?
            .into_iter()
            .filter(|o| o.account_id == acct.id)
            .collect())
    }

    /// The authorization `id`, owned by `acct`.
    pub fn authz(&self, acct: &AccountRecord, id: &str) -> Result<AuthzRecord> {
        let a = self.load_authz(id)?;
        if a.account_id != acct.id {
            return Err(RaError::new(
                ProblemType::Unauthorized,
                format!("authorization {id} belongs to another account"),
            ));
        }
        Ok(a)
    }

    /// Deactivates an authorization (RFC 8555 §7.5.2).
    pub fn deactivate_authz(&self, acct: &AccountRecord, id: &str) -> Result<AuthzRecord> {
        let mut a = self.authz(acct, id)?;
        if !matches!(a.status, Status::Valid | Status::Pending) {
            return Err(RaError::new(
                ProblemType::Malformed,
                format!("authorization is {:?} and cannot be deactivated", a.status),
            ));
        }
        a.status = Status::Deactivated;
        self.store.save(&a)?;
        self.store.flush()?;
        Ok(a)
    }

    /// The client says a challenge is ready: start validating it. Answering again for a
    /// challenge already processing or valid returns it unchanged (FIELD-CASES C05 (c)).
    pub fn respond_challenge(
        self: &Arc<Self>,
        acct: &AccountRecord,
        authz_id: &str,
        chall_id: &str,
    ) -> Result<(AuthzRecord, ChallengeRecord)> {
        let mut a = self.authz(acct, authz_id)?;
        let idx = a
            .challenges
            .iter()
            .position(|c| c.id == chall_id)
            .ok_or_else(|| {
                RaError::new(
                    ProblemType::Malformed,
                    format!("no challenge {chall_id} in authorization {authz_id}"),
                )
            })?;
        if a.challenges[idx].status != Status::Pending || a.status != Status::Pending {
            let c = a.challenges[idx].clone();
            return Ok((a, c));
        }
        a.challenges[idx].status = Status::Processing;
        self.store.save(&a)?;
        self.store.flush()?;
        let c = a.challenges[idx].clone();
        let identifier = a
            .identifier
            .to_identifier()
            .ok_or_else(|| RaError::new(ProblemType::ServerInternal, "bad stored identifier"))?;
        let jwk = Jwk::from_json(&acct.jwk)
            .map_err(|_| RaError::new(ProblemType::ServerInternal, "bad stored key"))?;
        let key_authorization = jwk.key_authorization(&c.token);
        let ra = Arc::clone(self);
        let (authz_id, chall_id, token) = (a.id.clone(), c.id.clone(), c.token.clone());
        tokio::spawn(async move {
            let result = ra
                .validator
                .http01(&identifier, &token, &key_authorization)
                .await;
            if let Err(e) = ra.finish_challenge(&authz_id, &chall_id, result) {
                warn!(authz = %authz_id, error = %e.detail, "recording a challenge result failed");
            }
        });
        Ok((a, c))
    }

    fn finish_challenge(
        &self,
        authz_id: &str,
        chall_id: &str,
        result: std::result::Result<(), crate::va::ValidationError>,
    ) -> Result<()> {
        let mut a = self.load_authz(authz_id)?;
        // A late result never revives an authorization that was deactivated or expired while
        // the validation ran.
        if a.status != Status::Pending {
            info!(authz = %a.id, status = ?a.status, "validation result ignored: the authorization is no longer pending");
            return Ok(());
        }
        let t = now();
        if let Some(c) = a.challenges.iter_mut().find(|c| c.id == chall_id) {
            match &result {
                Ok(()) => {
                    c.status = Status::Valid;
                    c.validated = Some(t);
                }
                Err(why) => {
                    c.status = Status::Invalid;
                    let kind = match why {
                        crate::va::ValidationError::Connection(_) => ProblemType::Connection,
                        crate::va::ValidationError::IncorrectResponse(_) => {
                            ProblemType::IncorrectResponse
                        }
                    };
                    c.error = Some(problem_json(kind, why.to_string()));
                }
            }
        }
        match result {
            Ok(()) => {
                a.status = Status::Valid;
                a.expires = t + VALID_AUTHZ_LIFETIME;
            }
            Err(_) => a.status = Status::Invalid,
        }
        info!(authz = %a.id, identifier = %a.identifier.value, status = ?a.status, "challenge finished");
        self.store.save(&a)?;
        self.store.flush()?;
        Ok(())
    }

    // ---- finalize (RFC 8555 §7.4) ----

    /// Finalizes a ready order with `csr_der`: checks the CSR against the order and policy,
    /// signs synchronously when that is quick, else answers `processing`.
    pub async fn finalize(
        self: &Arc<Self>,
        acct: &AccountRecord,
        order_id: &str,
        csr_der: &[u8],
    ) -> Result<OrderRecord> {
        let mut order = self.order(acct, order_id)?;
        if order.status != Status::Ready {
            return Err(RaError::new(
                ProblemType::OrderNotReady,
                format!("the order is {:?}, not ready", order.status).to_lowercase(),
            ));
        }
        let ca = self
            .cluster(&order.cluster)
            .ok_or_else(|| RaError::new(ProblemType::ServerInternal, "cluster is not active"))?;
        let req = self.leaf_request(acct, &ca, &order, csr_der)?;
        // ready -> processing exactly once: two concurrent finalizes of one order must not both
        // sign (compare-and-swap on the stored record).
        let before = self
            .store
            .get(Table::Orders, &order.id)?
            .ok_or_else(|| RaError::new(ProblemType::ServerInternal, "order vanished"))?;
        let stored: OrderRecord = serde_json::from_slice(&before)
            .map_err(|_| RaError::new(ProblemType::ServerInternal, "corrupt order"))?;
        if stored.status != Status::Ready {
            return Err(RaError::new(
                ProblemType::OrderNotReady,
                format!("the order is {:?}, not ready", stored.status).to_lowercase(),
            ));
        }
        order.status = Status::Processing;
        let after = serde_json::to_vec(&order)
            .map_err(|_| RaError::new(ProblemType::ServerInternal, "encode"))?;
        if !self
            .store
            .compare_and_swap(Table::Orders, &order.id, Some(&before), after)?
        {
            return Err(RaError::new(
                ProblemType::OrderNotReady,
                "the order is being finalized by another request",
            ));
        }
        self.store.flush()?;

        let ra = Arc::clone(self);
        let order_id = order.id.clone();
        let task = tokio::spawn(async move {
            let ca2 = Arc::clone(&ca);
            let store = Arc::clone(&ra.store);
            let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut req = req;
            req.cancelled = Some(Arc::clone(&cancel));
            let job = tokio::task::spawn_blocking(move || ca2.issue(store.as_ref(), &req));
            let outcome = match tokio::time::timeout(ISSUANCE_TIMEOUT, job).await {
                Ok(Ok(r)) => r.map_err(|e| match e {
                    CaError::Refused(m) => RaError::new(ProblemType::BadCsr, m),
                    other => {
                        warn!(error = %other, "issuance failed");
                        RaError::new(
                            ProblemType::ServerInternal,
                            "the signer failed; create a new order to retry",
                        )
                    }
                }),
                Ok(Err(join)) => Err(RaError::new(
                    ProblemType::ServerInternal,
                    format!("issuance task failed: {join}"),
                )),
                Err(_) => Err({
                    // The blocking job cannot be stopped, but it will neither sign nor store.
                    cancel.store(true, std::sync::atomic::Ordering::SeqCst);
                    RaError::new(
                        ProblemType::ServerInternal,
                        "signing timed out; create a new order to retry",
                    )
                }),
            };
            ra.finish_order(&order_id, outcome)
        });
        match tokio::time::timeout(FINALIZE_WAIT, task).await {
            Ok(Ok(done)) => done,
            Ok(Err(join)) => Err(RaError::new(
                ProblemType::ServerInternal,
                format!("finalize task failed: {join}"),
            )),
            // Still signing: the client polls the order (Retry-After).
            Err(_) => Ok(order),
        }
    }

    fn finish_order(
        &self,
        order_id: &str,
        outcome: Result<crate::sa::CertRecord>,
    ) -> Result<OrderRecord> {
        let mut order = self
            .store
            .load::<OrderRecord>(order_id)?
            .ok_or_else(|| RaError::new(ProblemType::ServerInternal, "order vanished"))?;
        match outcome {
            Ok(cert) => {
                order.status = Status::Valid;
                order.certificate_serial = Some(cert.serial.clone());
                info!(order = %order.id, serial = %cert.serial, names = ?cert.names, "certificate issued");
            }
            Err(e) => {
                order.status = Status::Invalid;
                order.error = Some(problem_json(e.kind, e.detail.clone()));
                warn!(order = %order.id, error = %e.detail, "order invalid");
            }
        }
        self.store.save(&order)?;
        self.store.flush()?;
        Ok(order)
    }

    fn leaf_request(
        &self,
        acct: &AccountRecord,
        ca: &ClusterCa,
        order: &OrderRecord,
        csr_der: &[u8],
    ) -> Result<LeafRequest> {
        let bad = |m: String| RaError::new(ProblemType::BadCsr, m);
        let csr = fleetca::csr::VerifiedCsr::parse(csr_der).map_err(|e| {
            // A key refused anyway is the reason to give, also when the signature cannot be
            // checked at all (ring verifies no RSA-1024, secp256k1 or Ed448; FIELD-CASES C14).
            match unverified_spki(csr_der).map(|spki| check_leaf_key(&spki)) {
                Some(Err(why)) => bad(why),
                _ => bad(format!("CSR refused: {e}")),
            }
        })?;
        if csr.requested_ca.is_some_and(|(ca, _)| ca) {
            return Err(bad(
                "the CSR asks for a CA certificate; this service issues only leaf certificates"
                    .into(),
            ));
        }
        check_leaf_key(&csr.spki_der).map_err(bad)?;
        if matches!(
            csr.signature_algorithm.as_str(),
            "1.2.840.113549.1.1.5" | "1.2.840.10045.4.1" | "1.2.840.10040.4.3"
        ) {
            return Err(bad(
                "the CSR is signed with SHA-1; sign it with SHA-256 or better".into(),
            ));
        }
        let mut csr_ids: BTreeSet<Identifier> = csr
            .dns_names
            .iter()
            .map(|d| Identifier::Dns(d.to_ascii_lowercase()))
            .collect();
        csr_ids.extend(csr.ip_addresses.iter().map(|i| Identifier::Ip(*i)));
        if let Some(cn) = &csr.common_name {
            let cn_id = cn
                .parse::<IpAddr>()
                .map(Identifier::Ip)
                .unwrap_or_else(|_| Identifier::Dns(cn.to_ascii_lowercase()));
            csr_ids.insert(cn_id);
        }
        let order_ids: BTreeSet<Identifier> = order
            .identifiers
            .iter()
            .filter_map(StoredIdentifier::to_identifier)
            .collect();
        if csr_ids != order_ids {
            let fmt = |s: &BTreeSet<Identifier>| {
                s.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(bad(format!(
                "the CSR names [{}] but the order is for [{}]; they must match exactly",
                fmt(&csr_ids),
                fmt(&order_ids)
            )));
        }
        let ids: Vec<Identifier> = order_ids.into_iter().collect();
        // Policy again, at finalize: scope or constraints may have changed since the order.
        self.check_identifiers(acct, ca, &ids)?;
        for uri in &csr.uris {
            check_spiffe(uri, acct, ca).map_err(bad)?;
        }
        let start = order.not_before.unwrap_or_else(now);
        let end = order
            .not_after
            .unwrap_or(start + self.issuance.default_days * 86400);
        let ts = |t: i64| {
            OffsetDateTime::from_unix_timestamp(t)
                .map_err(|_| RaError::new(ProblemType::Malformed, "time out of range"))
        };
        let common_name = csr.common_name.as_ref().map(|c| c.to_ascii_lowercase());
        Ok(LeafRequest {
            spki_der: csr.spki_der.clone(),
            dns_names: ids
                .iter()
                .filter_map(|i| {
                    if let Identifier::Dns(d) = i {
                        Some(d.clone())
                    } else {
                        None
                    }
                })
                .collect(),
            ip_addresses: ids
                .iter()
                .filter_map(|i| {
                    if let Identifier::Ip(a) = i {
                        Some(*a)
                    } else {
                        None
                    }
                })
                .collect(),
            uris: csr.uris.clone(),
            common_name: common_name.filter(|_| !csr.subject_empty),
            not_before: ts(start)?,
            not_after: ts(end)?,
            account_id: Some(acct.id.clone()),
            namespace: acct.namespace.clone(),
            order_id: Some(order.id.clone()),
            development_only: false,
            ocsp_responder: false,
            cancelled: None,
        })
    }

    /// The PEM chain (leaf, then intermediate) of a certificate the account owns.
    pub fn certificate_chain(&self, acct: &AccountRecord, serial: &str) -> Result<String> {
        let cert = match self.store.load::<crate::sa::CertRecord>(serial)? {
            Some(c) if c.account_id.as_deref() == Some(acct.id.as_str()) && !c.der.0.is_empty() => {
                c
            }
            _ => {
                return Err(RaError::new(
                    ProblemType::Malformed,
                    format!("no certificate {serial} for this account"),
                ))
            }
        };
        let ca = self
            .cluster(&cert.cluster)
            .ok_or_else(|| RaError::new(ProblemType::ServerInternal, "cluster is not active"))?;
        Ok(fleetca::pem::encode("CERTIFICATE", &cert.der.0)
            + &fleetca::pem::encode("CERTIFICATE", &ca.cert_der))
    }
}

/// A problem document as stored in a record.
pub fn problem_json(kind: ProblemType, detail: impl Into<String>) -> serde_json::Value {
    serde_json::to_value(crate::acme::Problem::new(kind, detail)).unwrap_or(serde_json::Value::Null)
}

/// The SubjectPublicKeyInfo of a CSR whose signature has not been (or cannot be) verified.
fn unverified_spki(csr_der: &[u8]) -> Option<Vec<u8>> {
    use x509_parser::prelude::FromDer;
    let (_, csr) =
        x509_parser::certification_request::X509CertificationRequest::from_der(csr_der).ok()?;
    Some(csr.certification_request_info.subject_pki.raw.to_vec())
}

/// Leaf keys: RSA of 2048 to 8192 bits with exponent 65537 or larger and odd, EC P-256 or
/// P-384 (by curve OID, not size: secp256k1 is 256 bits too), or Ed25519. The reason names the
/// rule (FIELD-CASES C14).
fn check_leaf_key(spki_der: &[u8]) -> std::result::Result<(), String> {
    use x509_parser::prelude::FromDer;
    use x509_parser::public_key::PublicKey;
    const P256: &str = "1.2.840.10045.3.1.7";
    const P384: &str = "1.3.132.0.34";
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|e| format!("cannot parse the CSR's public key: {e}"))?;
    match spki.parsed() {
        Ok(PublicKey::RSA(r)) => {
            let bits = r.key_size();
            if !(2048..=8192).contains(&bits) {
                return Err(format!(
                    "RSA modulus must be 2048 to 8192 bits, this one is {bits}"
                ));
            }
            let e = r
                .exponent
                .iter()
                .skip_while(|b| **b == 0)
                .fold(0u64, |acc, b| {
                    acc.saturating_mul(256).saturating_add(*b as u64)
                });
            if e < 65537 || e % 2 == 0 {
                return Err(format!(
                    "RSA public exponent must be odd and at least 65537, this one is {e}"
                ));
            }
            Ok(())
        }
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            match curve.as_str() {
                P256 | P384 => Ok(()),
                other => Err(format!(
                    "EC keys must be on P-256 or P-384, this one is on curve {other}"
                )),
            }
        }
        Ok(PublicKey::Unknown(_)) if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => {
            Ok(())
        }
        _ => Err(format!(
            "unsupported public key algorithm {}; use RSA 2048+, P-256, P-384 or Ed25519",
            spki.algorithm.algorithm.to_id_string()
        )),
    }
}

/// SPIFFE IDs are allowed in a CSR only for the account's own namespace and the cluster's
/// trust domain: `spiffe://TRUST-DOMAIN/ns/NAMESPACE/sa/SERVICE-ACCOUNT`.
fn check_spiffe(
    uri: &str,
    acct: &AccountRecord,
    ca: &ClusterCa,
) -> std::result::Result<(), String> {
    let rest = uri.strip_prefix("spiffe://").ok_or_else(|| {
        format!("URI SAN {uri:?} is not a SPIFFE ID; only spiffe:// URIs are issued")
    })?;
    let (domain, path) = rest
        .split_once('/')
        .ok_or_else(|| format!("SPIFFE ID {uri:?} has no path"))?;
    if !ca.spiffe_trust_domains.iter().any(|d| d == domain) {
        return Err(format!(
            "SPIFFE trust domain {domain:?} is not this cluster's ({})",
            ca.spiffe_trust_domains.join(", ")
        ));
    }
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["ns", ns, "sa", sa]
            if *ns == acct.namespace
                && !sa.is_empty()
                && policy::check_dns_syntax(&format!("{sa}.x")).is_ok() =>
        {
            Ok(())
        }
        ["ns", ns, "sa", _] if *ns != acct.namespace => Err(format!(
            "SPIFFE ID {uri:?} names namespace {ns}, but this account is bound to {}",
            acct.namespace
        )),
        _ => Err(format!(
            "SPIFFE ID {uri:?} must be spiffe://{domain}/ns/{}/sa/SERVICE-ACCOUNT",
            acct.namespace
        )),
    }
}

/// Reason codes a subscriber may give (RFC 8555 §7.6, RFC 5280 §5.3.1): not cACompromise,
/// certificateHold, removeFromCRL or aACompromise.
const SUBSCRIBER_REASONS: [i64; 6] = [0, 1, 3, 4, 5, 9];

/// A JWK for a SubjectPublicKeyInfo, to compare a revocation request's key with a certificate's.
fn jwk_of_spki(spki_der: &[u8]) -> Option<Jwk> {
    use base64::Engine;
    use x509_parser::prelude::FromDer;
    use x509_parser::public_key::PublicKey;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let strip = |b: &[u8]| {
        b.iter()
            .skip_while(|x| **x == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der).ok()?;
    let json = match spki.parsed().ok()? {
        PublicKey::EC(p) => {
            let point = p.data();
            let n = (point.len().checked_sub(1)?) / 2;
            let crv = match n {
                32 => "P-256",
                48 => "P-384",
                _ => return None,
            };
            serde_json::json!({"kty": "EC", "crv": crv, "x": b64(&point[1..1 + n]), "y": b64(&point[1 + n..])})
        }
        PublicKey::RSA(r) => {
            serde_json::json!({"kty": "RSA", "n": b64(&strip(r.modulus)), "e": b64(&strip(r.exponent))})
        }
        PublicKey::Unknown(raw) if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => {
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b64(raw)})
        }
        _ => return None,
    };
    Jwk::from_json(&json).ok()
}

impl Ra {
    /// ACME revokeCert (RFC 8555 §7.6): by the account that holds the certificate, or signed by
    /// the certificate's own key. Durable before it returns.
    pub fn revoke_by_request(
        &self,
        cluster: &str,
        account: Option<&AccountRecord>,
        key: &Jwk,
        cert_der: &[u8],
        reason: Option<i64>,
    ) -> Result<()> {
        let reason = reason.unwrap_or(0);
        if !SUBSCRIBER_REASONS.contains(&reason) {
            return Err(RaError::new(
                ProblemType::BadRevocationReason,
                format!("reason {reason} is not allowed; use 0, 1, 3, 4, 5 or 9 (RFC 5280 §5.3.1)"),
            ));
        }
        let parsed = fleetca::lint::parse(cert_der)
            .map_err(|e| RaError::new(ProblemType::Malformed, format!("certificate: {e}")))?;
        let serial = fleetca::serial::Serial::from_der_content(
            parsed.tbs_certificate.serial_number.as_bytes(),
        )
        .to_hex();
        let unknown = || {
            RaError::new(
                ProblemType::Malformed,
                format!("certificate {serial} was not issued by cluster {cluster} of this server"),
            )
        };
        let rec = self
            .store
            .load::<crate::sa::CertRecord>(&serial)?
            .ok_or_else(unknown)?;
        if rec.cluster != cluster || rec.der.0 != cert_der {
            return Err(unknown());
        }
        let authorised = match account {
            Some(a) => rec.account_id.as_deref() == Some(a.id.as_str()),
            None => {
                let spki = der::Encode::to_der(&parsed.tbs_certificate.subject_public_key_info)
                    .map_err(|_| unknown())?;
                jwk_of_spki(&spki).is_some_and(|k| k.thumbprint() == key.thumbprint())
            }
        };
        if !authorised {
            return Err(RaError::new(
                ProblemType::Unauthorized,
                "only the account that ordered the certificate, or its key, may revoke it",
            ));
        }
        if rec.revoked.is_some() {
            return Err(RaError::new(
                ProblemType::AlreadyRevoked,
                format!("certificate {serial} is already revoked"),
            ));
        }
        // Signed with the certificate's own key: whoever holds it says it is compromised
        // (as Let's Encrypt records it; FIELD-CASES C16 (5)).
        let reason = if account.is_none() { 1 } else { reason };
        // The one revocation path (also `fleetca revoke`): durable before it returns.
        self.revocation
            .revoke(std::slice::from_ref(&rec.serial), reason as u8)
            .map_err(|e| {
                warn!(error = %e, "revocation failed");
                RaError::new(ProblemType::ServerInternal, "revocation failed")
            })?;
        info!(serial = %serial, reason, "certificate revoked through ACME");
        Ok(())
    }
}
