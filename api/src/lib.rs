//! fleetca online issuing service.
#![forbid(unsafe_code)]

pub mod acme;
pub mod wfe;
