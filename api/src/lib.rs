//! fleetca online issuing service.
#![forbid(unsafe_code)]
