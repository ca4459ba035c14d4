//! Where a token PIN comes from. Never argv: command lines are visible to every local user in
//! `/proc/*/cmdline` and end up in shell history and transcripts.
use std::path::PathBuf;

use secrecy::SecretString;

use crate::HsmError;

/// A PIN source: an environment variable or a file (first line, trailing newline dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinSource {
    /// Read the PIN from this environment variable.
    Env(String),
    /// Read the PIN from this file.
    File(PathBuf),
}

impl PinSource {
    /// Reads the PIN. The error never contains the PIN.
    pub fn read(&self) -> Result<SecretString, HsmError> {
        let pin = match self {
            Self::Env(var) => std::env::var(var)
                .map_err(|_| HsmError::Pin(format!("environment variable {var} is not set")))?,
            Self::File(path) => std::fs::read_to_string(path)
                .map_err(|e| HsmError::Pin(format!("{}: {e}", path.display())))?,
        };
        let pin = pin.lines().next().unwrap_or("").to_string();
        if pin.is_empty() {
            return Err(HsmError::Pin(format!("{} is empty", self.describe())));
        }
        Ok(SecretString::from(pin))
    }

    /// A description safe to log: where the PIN comes from, not what it is.
    pub fn describe(&self) -> String {
        match self {
            Self::Env(var) => format!("${var}"),
            Self::File(path) => path.display().to_string(),
        }
    }
}
