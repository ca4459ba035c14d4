//! The ACME web front end's protocol layer (RFC 8555 §6): JWS request verification, account keys,
//! external account binding, nonces, and the mapping of their errors to problem documents.
//!
//! Boundary: pure functions and types, no HTTP server and no policy. A handler parses the body with
//! [`jws::SignedRequest::parse`], redeems the nonce with [`nonce::NonceService::redeem`], checks the
//! `url`, finds the key (embedded `jwk` or the account named by `kid`) and calls
//! [`jws::SignedRequest::verify`]; every error converts into an [`crate::acme::Problem`] through
//! [`problem`].

pub mod eab;
pub mod jwk;
pub mod jws;
pub mod key_change;
pub mod nonce;
pub mod problem;
pub mod routes;

#[cfg(test)]
mod test_support;
