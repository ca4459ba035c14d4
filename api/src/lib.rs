//! fleetca online issuing service, split into roles the way Boulder is: the front end
//! ([`wfe`]: HTTP, JWS, nonces, problem documents), the registration authority ([`ra`]:
//! accounts, EAB, orders, policy), the certificate authority ([`ca`]: profile, lint, sign),
//! storage ([`sa`]: sled), validation ([`va`]: http-01) and administration ([`admin`]).
#![forbid(unsafe_code)]

pub mod acme;
pub mod admin;
pub mod ca;
pub mod config;
pub mod ra;
pub mod revocation;
pub mod sa;
pub mod server;
pub mod va;
pub mod wfe;
