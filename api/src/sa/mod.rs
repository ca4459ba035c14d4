//! Storage: every account, order, authorization and certificate, behind one small trait.
//! sled is the embedded default ([`SledStore`]).
//!
//! Records are this module's own types, never wire JSON as it arrived. Writes that a client
//! will be told about are followed by [`Storage::flush`] before the response is sent.
mod records;
mod sled;

pub use self::records::*;
pub use self::sled::SledStore;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A storage failure. Internal: the front end renders it as `serverInternal` without details.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("store: {0}")]
    Db(String),
    /// A record did not decode.
    #[error("store: corrupt record {table}/{key}: {reason}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// Key.
        key: String,
        /// Why.
        reason: String,
    },
    /// The database is locked by another process.
    #[error("the store {0} is in use by another process (is `fleetca serve` running?)")]
    Locked(String),
}

/// The tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// Cluster intermediates.
    Clusters,
    /// External account binding keys, by key id.
    Eab,
    /// ACME accounts, by id.
    Accounts,
    /// Account id by `cluster/thumbprint`.
    AccountKeys,
    /// Orders, by id.
    Orders,
    /// Authorizations, by id.
    Authzs,
    /// Issued certificates, by serial (hex).
    Certs,
    /// Service metadata (nonce key, admin token hash, …).
    Meta,
}

impl Table {
    /// The table's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Clusters => "clusters",
            Self::Eab => "eab",
            Self::Accounts => "accounts",
            Self::AccountKeys => "account_keys",
            Self::Orders => "orders",
            Self::Authzs => "authzs",
            Self::Certs => "certs",
            Self::Meta => "meta",
        }
    }
}

/// The storage operations: byte values by table and key. Typed access is in [`StorageExt`].
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Reads a value.
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes a value.
    fn put(&self, table: Table, key: &str, value: Vec<u8>) -> Result<(), StoreError>;
    /// Writes `new` only if the current value is `old` (`None`: absent). Returns false if the
    /// value was something else.
    fn compare_and_swap(
        &self,
        table: Table,
        key: &str,
        old: Option<&[u8]>,
        new: Vec<u8>,
    ) -> Result<bool, StoreError>;
    /// Every (key, value) whose key starts with `prefix`.
    fn scan(&self, table: Table, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Makes every write so far durable (fsync).
    fn flush(&self) -> Result<(), StoreError>;
}

/// A record type stored as JSON in one table.
pub trait Record: Serialize + DeserializeOwned {
    /// Its table.
    const TABLE: Table;
    /// Its key.
    fn key(&self) -> String;
}

/// Typed helpers over any [`Storage`].
pub trait StorageExt {
    /// Reads a record.
    fn load<R: Record>(&self, key: &str) -> Result<Option<R>, StoreError>;
    /// Writes a record.
    fn save<R: Record>(&self, record: &R) -> Result<(), StoreError>;
    /// Writes a record only if none exists with its key. Returns false if one does.
    fn insert_new<R: Record>(&self, record: &R) -> Result<bool, StoreError>;
    /// Every record of a type whose key starts with `prefix`.
    fn list<R: Record>(&self, prefix: &str) -> Result<Vec<R>, StoreError>;
}

fn encode<R: Record>(r: &R) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(r).map_err(|e| StoreError::Db(e.to_string()))
}

fn decode<R: Record>(key: &str, bytes: &[u8]) -> Result<R, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        table: R::TABLE.name(),
        key: key.to_string(),
        reason: e.to_string(),
    })
}

impl<S: Storage + ?Sized> StorageExt for S {
    fn load<R: Record>(&self, key: &str) -> Result<Option<R>, StoreError> {
        self.get(R::TABLE, key)?
            .map(|b| decode(key, &b))
            .transpose()
    }

    fn save<R: Record>(&self, record: &R) -> Result<(), StoreError> {
        self.put(R::TABLE, &record.key(), encode(record)?)
    }

    fn insert_new<R: Record>(&self, record: &R) -> Result<bool, StoreError> {
        self.compare_and_swap(R::TABLE, &record.key(), None, encode(record)?)
    }

    fn list<R: Record>(&self, prefix: &str) -> Result<Vec<R>, StoreError> {
        self.scan(R::TABLE, prefix)?
            .into_iter()
            .map(|(k, v)| decode(&k, &v))
            .collect()
    }
}

#[cfg(test)]
mod tests;
