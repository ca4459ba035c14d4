//! Anti-replay nonces (RFC 8555 §6.5): issued in `Replay-Nonce`, each accepted once.
//!
//! # Design
//!
//! A nonce is `base64url(epoch ‖ counter ‖ tag)`, 48 bytes (64 characters, no padding):
//!
//! - `epoch`, 8 random bytes chosen when the service starts, so nonces of an earlier run never match;
//! - `counter`, a 64-bit big-endian count of nonces issued in this run;
//! - `tag`, HMAC-SHA256 over a domain label, epoch and counter, under a 256-bit key.
//!
//! The tag is what makes nonces unpredictable (256 bits of keyed PRF output per nonce, more than the
//! 128 bits asked for) and lets the server tell "mine" from anything else without storing issued
//! nonces: a guessed or foreign value (`AAAAAAAAAAAAAAAAAAAAAA`, a nonce from another server key)
//! fails the tag check. "Unused" is a sliding window over counters, as in Boulder's nonce service:
//! the counters redeemed so far are kept in an ordered set of at most `capacity` entries; when it is
//! full the oldest is evicted and becomes the floor, and every counter at or below the floor is
//! refused. Memory is therefore bounded by `capacity` whatever clients do; a nonce can be refused for
//! age (it fell below the floor) but never accepted twice.
//!
//! # Restarts
//!
//! The used-set lives in memory, so after a restart the server cannot know which old nonces were
//! spent. Accepting them would allow replays, so every nonce of an earlier run is refused (a new
//! epoch is drawn at each start). That is graceful because of RFC 8555 §6.5: every `badNonce`
//! response carries a fresh `Replay-Nonce` (the handler must add it, FIELD-CASES C01) and clients
//! retry once with it — lego, certbot and cert-manager all do. A client therefore sees one extra round
//! trip per restart, never a stuck loop. Persisting the HMAC key ([`NonceConfig::key`]) is optional and
//! changes only the diagnosis: with the old key the server recognises a pre-restart nonce and says so
//! ([`NonceError::Stale`]); with a fresh key such a nonce is simply unknown. Replay safety never depends
//! on the key being kept.
//!
//! # Test mode
//!
//! [`NonceConfig::reject_percent`] makes the service refuse that share of otherwise valid nonces, like
//! Pebble's `PEBBLE_WFE_NONCEREJECT`, to exercise clients' `badNonce` retry paths. A nonce refused
//! this way is spent, exactly as if it had been used.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use super::jws::{b64_decode, b64_encode};

/// The HTTP response header that carries a fresh nonce (RFC 8555 §6.5.1).
pub const REPLAY_NONCE_HEADER: &str = "Replay-Nonce";

/// Default number of redeemed counters remembered (the used-window size).
pub const DEFAULT_CAPACITY: usize = 1 << 16;

const EPOCH_LEN: usize = 8;
const COUNTER_LEN: usize = 8;
const TAG_LEN: usize = 32;
const NONCE_LEN: usize = EPOCH_LEN + COUNTER_LEN + TAG_LEN;
const DOMAIN: &[u8] = b"fleetca acme nonce v1";

/// The HMAC key nonces are tagged with; 256 bits. `Debug` hides it.
#[derive(Clone)]
pub struct NonceKey([u8; 32]);

impl NonceKey {
    /// A new random key.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, NonceError> {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes).map_err(|_| NonceError::Random)?;
        Ok(Self(bytes))
    }

    /// A key read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key bytes, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NonceKey(<redacted>)")
    }
}

/// Settings for a [`NonceService`].
#[derive(Debug, Clone)]
pub struct NonceConfig {
    /// The HMAC key; `None` draws a fresh one (see the module docs on restarts).
    pub key: Option<NonceKey>,
    /// How many redeemed nonces to remember before the oldest is evicted; at least 1.
    pub capacity: usize,
    /// Test mode: refuse this percentage (0–100) of valid nonces. 0 in production.
    pub reject_percent: u8,
}

impl Default for NonceConfig {
    fn default() -> Self {
        Self {
            key: None,
            capacity: DEFAULT_CAPACITY,
            reject_percent: 0,
        }
    }
}

/// Why a nonce was refused (all map to `badNonce`, RFC 8555 §6.5), or the service could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NonceError {
    /// Not a nonce of ours in shape: not base64url, or the wrong length.
    #[error("JWS nonce is not a nonce issued by this server")]
    Malformed,
    /// The tag does not verify: forged, guessed, or issued under another key.
    #[error("JWS nonce was not issued by this server")]
    Unknown,
    /// Issued by this server before it restarted; nonces do not survive restarts.
    #[error(
        "JWS nonce was issued before the server restarted; retry with the nonce in Replay-Nonce"
    )]
    Stale,
    /// Already redeemed, or older than the remembered window.
    #[error("JWS nonce has already been used or has expired")]
    Used,
    /// Refused by test mode ([`NonceConfig::reject_percent`]).
    #[error("JWS nonce rejected by the server's nonce test mode")]
    Rejected,
    /// The system random generator failed while starting the service (`serverInternal`).
    #[error("system random generator failed")]
    Random,
}

/// Counters redeemed in this run: a bounded ordered set and the floor below which all are refused.
#[derive(Debug, Default)]
struct UsedWindow {
    floor: u64,
    used: BTreeSet<u64>,
}

/// Issues and redeems nonces; `Send + Sync`, meant to be shared behind an `Arc`.
pub struct NonceService {
    key: hmac::Key,
    epoch: [u8; EPOCH_LEN],
    issued: AtomicU64,
    window: Mutex<UsedWindow>,
    capacity: usize,
    reject_percent: u8,
    rng: SystemRandom,
}

impl fmt::Debug for NonceService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceService")
            .field("issued", &self.issued.load(Ordering::Relaxed))
            .field("capacity", &self.capacity)
            .field("reject_percent", &self.reject_percent)
            .finish_non_exhaustive()
    }
}

impl NonceService {
    /// Starts a service with `config`, drawing a new epoch (and a key, if none is given).
    pub fn new(config: NonceConfig) -> Result<Self, NonceError> {
        let rng = SystemRandom::new();
        let key = match config.key {
            Some(key) => key,
            None => NonceKey::generate(&rng)?,
        };
        let mut epoch = [0u8; EPOCH_LEN];
        rng.fill(&mut epoch).map_err(|_| NonceError::Random)?;
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &key.0),
            epoch,
            issued: AtomicU64::new(0),
            window: Mutex::new(UsedWindow::default()),
            capacity: config.capacity.max(1),
            reject_percent: config.reject_percent.min(100),
            rng,
        })
    }

    /// Issues a fresh nonce for a `Replay-Nonce` header (RFC 8555 §6.5.1).
    pub fn issue(&self) -> String {
        let counter = self.issued.fetch_add(1, Ordering::SeqCst).wrapping_add(1);
        let counter = counter.to_be_bytes();
        let tag = self.tag(&self.epoch, &counter);
        let mut nonce = Vec::with_capacity(NONCE_LEN);
        nonce.extend_from_slice(&self.epoch);
        nonce.extend_from_slice(&counter);
        nonce.extend_from_slice(tag.as_ref());
        b64_encode(&nonce)
    }

    /// Redeems a nonce from a JWS header: `Ok` exactly once per issued nonce (RFC 8555 §6.5).
    pub fn redeem(&self, nonce: &str) -> Result<(), NonceError> {
        let bytes = b64_decode(nonce).ok_or(NonceError::Malformed)?;
        if bytes.len() != NONCE_LEN {
            return Err(NonceError::Malformed);
        }
        let (epoch, rest) = bytes.split_at(EPOCH_LEN);
        let (counter, tag) = rest.split_at(COUNTER_LEN);
        hmac::verify(&self.key, &tagged_message(epoch, counter), tag)
            .map_err(|_| NonceError::Unknown)?;
        if epoch != self.epoch {
            return Err(NonceError::Stale);
        }
        let counter = u64::from_be_bytes(counter.try_into().map_err(|_| NonceError::Malformed)?);
        if counter == 0 || counter > self.issued.load(Ordering::SeqCst) {
            // A valid tag on a counter we have not issued: same key and epoch elsewhere. Refuse.
            return Err(NonceError::Unknown);
        }
        {
            // A poisoned lock only means another thread panicked mid-update of a plain set; the
            // window is still a valid (if conservative) record, so keep using it.
            let mut window = self
                .window
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if counter <= window.floor || !window.used.insert(counter) {
                return Err(NonceError::Used);
            }
            while window.used.len() > self.capacity {
                match window.used.pop_first() {
                    Some(oldest) => window.floor = oldest,
                    None => break,
                }
            }
        }
        if self.test_mode_rejects() {
            return Err(NonceError::Rejected);
        }
        Ok(())
    }

    fn tag(&self, epoch: &[u8], counter: &[u8]) -> hmac::Tag {
        hmac::sign(&self.key, &tagged_message(epoch, counter))
    }

    fn test_mode_rejects(&self) -> bool {
        if self.reject_percent == 0 {
            return false;
        }
        let mut draw = [0u8; 4];
        if self.rng.fill(&mut draw).is_err() {
            return false;
        }
        u32::from_be_bytes(draw) % 100 < u32::from(self.reject_percent)
    }
}

fn tagged_message(epoch: &[u8], counter: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(DOMAIN.len() + epoch.len() + counter.len());
    message.extend_from_slice(DOMAIN);
    message.extend_from_slice(epoch);
    message.extend_from_slice(counter);
    message
}

#[cfg(test)]
mod tests;
