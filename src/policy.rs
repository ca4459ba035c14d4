//! Issuance policy for names: which identifiers an account may have in a certificate, and
//! which of them its External Account Binding already authorises. The same checks flag
//! certificates in a scan (`lint` calls [`loopback_or_unspecified`]), so what issuance refuses is
//! what the scanner reports.
//!
//! The rules, in order:
//! 1. loopback and unspecified names and addresses are refused (`localhost`, `*.localhost`,
//!    127.0.0.0/8, `::1`, `0.0.0.0`, `::`, IPv4-mapped forms): they identify nothing;
//! 2. unqualified single-label names are refused: they mean something different in every
//!    namespace and resolver;
//! 3. Kubernetes service names (`SVC.NS.svc.cluster.local`, `SVC.NS.svc`) are in scope only for
//!    the account bound to namespace `NS`; in scope they are authorised by the binding, out of
//!    scope they are refused;
//! 4. names under a suffix granted to the account are authorised by the binding;
//! 5. any other fully-qualified name or address needs a validated challenge (http-01);
//! 6. everything must lie inside the cluster intermediate's name constraints.
use std::net::IpAddr;

/// An identifier as ACME carries it (RFC 8555 §9.7.7, RFC 8738).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identifier {
    /// A DNS name, lower-case, possibly a wildcard (`*.x.y`).
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

impl std::fmt::Display for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dns(d) => f.write_str(d),
            Self::Ip(i) => write!(f, "{i}"),
        }
    }
}

/// What an account may ask for: its namespace and any suffixes granted to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The Kubernetes namespace the account is bound to.
    pub namespace: String,
    /// DNS suffixes granted to this account (names equal to or under them are in scope).
    pub suffixes: Vec<String>,
    /// The cluster DNS domain (`cluster.local`).
    pub cluster_domain: String,
}

/// The cluster intermediate's name constraints, as policy needs them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Constraints {
    /// Permitted DNS subtrees; empty means unconstrained.
    pub permitted_dns: Vec<String>,
    /// Excluded IP ranges (address, prefix length).
    pub excluded_ip: Vec<(IpAddr, u8)>,
}

/// Whether an allowed identifier is already authorised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authorization {
    /// In the account's scope: valid by its External Account Binding.
    ByBinding,
    /// Allowed, but needs a validated challenge.
    NeedsChallenge,
}

/// Why an identifier is refused. `Display` says what to request instead.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Not a syntactically valid name or address.
    Malformed(String),
    /// A loopback or unspecified name or address.
    Loopback(String),
    /// A single-label name.
    Unqualified(String),
    /// A service name of another namespace.
    OtherNamespace {
        /// The name.
        name: String,
        /// The namespace it belongs to.
        namespace: String,
    },
    /// A cluster-local name that is not a service of this namespace.
    OutsideScope(String),
    /// A wildcard outside the account's scope (http-01 cannot validate wildcards).
    Wildcard(String),
    /// Outside the cluster intermediate's name constraints.
    OutsideConstraints(String),
}

impl Refusal {
    /// A one-line explanation with what to request instead, for `rejectedIdentifier` details.
    pub fn explain(&self, scope: &Scope) -> String {
        let ns = &scope.namespace;
        let domain = &scope.cluster_domain;
        match self {
            Self::Malformed(why) => why.clone(),
            Self::Loopback(name) => format!(
                "{name} is a loopback or unspecified name or address and identifies nothing; request the service's name instead, e.g. SVC.{ns}.svc.{domain}"
            ),
            Self::Unqualified(name) => format!(
                "{name} is an unqualified single-label name; request {name}.{ns}.svc.{domain} instead"
            ),
            Self::OtherNamespace { name, namespace } => format!(
                "{name} belongs to namespace {namespace}, but this account is bound to namespace {ns}; request SVC.{ns}.svc.{domain}"
            ),
            Self::OutsideScope(name) => format!(
                "{name} is a cluster-local name outside this account's scope; request SVC.{ns}.svc.{domain}"
            ),
            Self::Wildcard(name) => format!(
                "{name}: wildcards are only issued inside the account's scope (*.{ns}.svc.{domain} or a granted suffix)"
            ),
            Self::OutsideConstraints(name) => format!(
                "{name} is outside the cluster intermediate's name constraints"
            ),
        }
    }
}

/// True for loopback and unspecified addresses, including the IPv6 forms that embed an IPv4
/// address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`)
/// and all of 0.0.0.0/8 ("this network").
pub fn ip_is_loopback_or_unspecified(ip: &IpAddr) -> bool {
    let v4 = |a: std::net::Ipv4Addr| a.is_loopback() || a.octets()[0] == 0;
    match ip {
        IpAddr::V4(a) => v4(*a),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            let tail = std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]);
            let nat64 = o[..12] == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
            let compatible = o[..12] == [0; 12];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.to_ipv4_mapped().is_some_and(v4)
                || ((compatible || nat64) && v4(tail))
        }
    }
}

/// True for addresses that never name a workload: link-local (169.254.0.0/16, fe80::/10),
/// multicast and broadcast. Ordering them would only make the validator probe the network.
pub fn ip_is_not_a_host(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_link_local() || a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(v6) => v6.is_multicast() || (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// True for names that mean "this host": `localhost`, `*.localhost`, `localhost.localdomain`.
pub fn name_is_loopback(name: &str) -> bool {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    n == "localhost" || n.ends_with(".localhost") || n == "localhost.localdomain"
}

/// Loopback/unspecified check for any identifier (used by the scanner too).
pub fn loopback_or_unspecified(id: &Identifier) -> bool {
    match id {
        Identifier::Dns(d) => {
            name_is_loopback(d)
                || d.parse::<IpAddr>()
                    .is_ok_and(|ip| ip_is_loopback_or_unspecified(&ip))
        }
        Identifier::Ip(ip) => ip_is_loopback_or_unspecified(ip),
    }
}

/// Checks DNS name syntax (RFC 1123 labels; a wildcard only as the whole leftmost label).
pub fn check_dns_syntax(name: &str) -> Result<(), Refusal> {
    let bad = |why: &str| {
        Err(Refusal::Malformed(format!(
            "{name:?} is not a valid DNS name: {why}"
        )))
    };
    if name.is_empty() || name.len() > 253 {
        return bad("length must be 1-253");
    }
    if name.ends_with('.') {
        return bad("no trailing dot");
    }
    for (i, label) in name.split('.').enumerate() {
        if label == "*" && i == 0 {
            continue;
        }
        if label.is_empty() || label.len() > 63 {
            return bad("labels must be 1-63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return bad("only lower-case letters, digits and '-' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("labels cannot start or end with '-'");
        }
    }
    Ok(())
}

/// A cluster name: one DNS label (it appears in URLs, key labels and file names).
pub fn is_cluster_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn under(name: &str, suffix: &str) -> bool {
    name == suffix
        || name
            .strip_suffix(suffix)
            .is_some_and(|rest| rest.ends_with('.'))
}

fn ip_in(ip: &IpAddr, net: &IpAddr, prefix: u8) -> bool {
    let (a, b): (Vec<u8>, Vec<u8>) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (a.octets().to_vec(), b.octets().to_vec()),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.octets().to_vec(), b.octets().to_vec()),
        _ => return false,
    };
    let mut bits = prefix as usize;
    for (x, y) in a.iter().zip(b.iter()) {
        if bits == 0 {
            break;
        }
        let take = bits.min(8);
        let mask = 0xffu8 << (8 - take);
        if x & mask != y & mask {
            return false;
        }
        bits -= take;
    }
    true
}

/// Decides one identifier for an account. `Ok` says whether the binding already authorises it.
pub fn check(
    id: &Identifier,
    scope: &Scope,
    constraints: &Constraints,
) -> Result<Authorization, Refusal> {
    match id {
        Identifier::Ip(ip) => {
            if ip_is_loopback_or_unspecified(ip) {
                return Err(Refusal::Loopback(ip.to_string()));
            }
            if ip_is_not_a_host(ip) {
                return Err(Refusal::Malformed(format!(
                    "{ip} is a link-local, multicast or broadcast address, not a workload's"
                )));
            }
            if constraints
                .excluded_ip
                .iter()
                .any(|(net, p)| ip_in(ip, net, *p))
            {
                return Err(Refusal::OutsideConstraints(ip.to_string()));
            }
            Ok(Authorization::NeedsChallenge)
        }
        Identifier::Dns(name) => {
            if name_is_loopback(name) {
                return Err(Refusal::Loopback(name.clone()));
            }
            if let Ok(ip) = name.parse::<IpAddr>() {
                return if ip_is_loopback_or_unspecified(&ip) {
                    Err(Refusal::Loopback(name.clone()))
                } else {
                    Err(Refusal::Malformed(format!(
                        "{name} is an IP address; request it as an \"ip\" identifier"
                    )))
                };
            }
            check_dns_syntax(name)?;
            // A name whose last label is numeric or hex (`127.1`, `0x7f.1`) is an address in
            // disguise that resolvers accept (RFC 3696 §2): never a DNS name.
            let last = name.rsplit('.').next().unwrap_or("");
            if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
                return Err(Refusal::Malformed(format!(
                    "{name} is not a DNS name: its last label is numeric"
                )));
            }
            let base = name.strip_prefix("*.").unwrap_or(name);
            let wildcard = base.len() != name.len();
            if !base.contains('.') {
                return Err(Refusal::Unqualified(name.clone()));
            }
            if !constraints.permitted_dns.is_empty()
                && !constraints.permitted_dns.iter().any(|p| under(base, p))
            {
                return Err(Refusal::OutsideConstraints(name.clone()));
            }
            // `*` stands for the service label in `*.NS.svc.cluster.local`.
            let labels: Vec<&str> = name.split('.').collect();
            let svc_domain = format!("svc.{}", scope.cluster_domain);
            // SVC.NS.svc.cluster.local, SVC.NS.svc (and deeper names under a service)
            let svc_at = if under(base, &svc_domain) {
                Some(labels.len() - 1 - scope.cluster_domain.split('.').count())
            } else if labels.last() == Some(&"svc") {
                Some(labels.len() - 1)
            } else {
                None
            };
            if let Some(svc) = svc_at {
                if svc < 2 {
                    // NS.svc.cluster.local / NS.svc name no service
                    return Err(Refusal::OutsideScope(name.clone()));
                }
                let ns = labels[svc - 1];
                return if ns == scope.namespace {
                    Ok(Authorization::ByBinding)
                } else {
                    Err(Refusal::OtherNamespace {
                        name: name.clone(),
                        namespace: ns.to_string(),
                    })
                };
            }
            if under(base, &scope.cluster_domain) {
                return Err(Refusal::OutsideScope(name.clone()));
            }
            if scope.suffixes.iter().any(|s| under(base, s)) {
                return Ok(Authorization::ByBinding);
            }
            if wildcard {
                return Err(Refusal::Wildcard(name.clone()));
            }
            Ok(Authorization::NeedsChallenge)
        }
    }
}

#[cfg(test)]
mod tests;
