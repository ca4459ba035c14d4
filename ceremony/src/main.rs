//! `fleetca-ceremony`: the offline root key ceremony.
//!
//! Creates the root key on a PKCS#11 token and the self-signed root certificate, signs
//! per-cluster intermediate CAs from CSRs, keeps the root's revocation list, and records every
//! step in a hash-chained transcript. All state lives in one directory of plain files, because
//! the ceremony laptop is air-gapped and files are what cross the gap.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod state;
mod transcript;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
