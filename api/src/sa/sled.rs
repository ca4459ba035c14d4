//! The sled implementation of [`Storage`]: one sled tree per table.
use std::path::Path;

use super::{Storage, StoreError, Table};

/// A sled database. sled allows one process per database: a second process gets
/// [`StoreError::Locked`], and the admin CLI then talks to the running server instead.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
}

fn db_err(e: sled::Error) -> StoreError {
    StoreError::Db(e.to_string())
}

impl SledStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        match sled::Config::new()
            .path(path)
            .mode(sled::Mode::HighThroughput)
            .open()
        {
            Ok(db) => Ok(Self { db }),
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("lock") =>
            {
                Err(StoreError::Locked(path.display().to_string()))
            }
            Err(e) => Err(db_err(e)),
        }
    }

    fn tree(&self, table: Table) -> Result<sled::Tree, StoreError> {
        self.db.open_tree(table.name()).map_err(db_err)
    }
}

impl Storage for SledStore {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tree(table)?
            .get(key.as_bytes())
            .map_err(db_err)?
            .map(|v| v.to_vec()))
    }

    fn put(&self, table: Table, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.tree(table)?
            .insert(key.as_bytes(), value)
            .map_err(db_err)?;
        Ok(())
    }

    fn compare_and_swap(
        &self,
        table: Table,
        key: &str,
        old: Option<&[u8]>,
        new: Vec<u8>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .tree(table)?
            .compare_and_swap(key.as_bytes(), old, Some(new))
            .map_err(db_err)?
            .is_ok())
    }

    fn scan(&self, table: Table, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.tree(table)?
            .scan_prefix(prefix.as_bytes())
            .map(|r| {
                let (k, v) = r.map_err(db_err)?;
                Ok((String::from_utf8_lossy(&k).into_owned(), v.to_vec()))
            })
            .collect()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(db_err)?;
        Ok(())
    }
}
