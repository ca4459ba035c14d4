//! ACME (RFC 8555) wire types: the JSON objects the server sends and the request payloads it accepts.
//!
//! Boundary: serde shapes only, named and cased as on the wire (camelCase, RFC 8555 §7.1). Nothing here
//! checks policy, touches storage or verifies signatures: the JWS layer is `crate::wfe`, decisions belong
//! to the registration authority. Storage records are separate types; wire JSON is never persisted as it
//! arrives. Request payloads ignore unknown members so that clients speaking extensions (for example the
//! RFC 9773 `replaces` field of a new order) are not refused for them.

mod account;
mod authz;
pub(crate) mod b64;
mod challenge;
mod directory;
mod identifier;
mod order;
pub mod problem;

pub use account::{Account, AccountStatus, AccountUpdate, KeyChange, NewAccount};
pub use authz::{Authorization, AuthorizationStatus};
pub use b64::InvalidBase64Url;
pub use challenge::{Challenge, ChallengeStatus, ChallengeType};
pub use directory::{Directory, DirectoryMeta};
pub use identifier::{Identifier, IdentifierError, RequestedIdentifier};
pub use order::{Finalize, NewOrder, Order, OrderStatus, RevokeCert};
pub use problem::{Problem, ProblemType, Subproblem};

#[cfg(test)]
mod tests;
