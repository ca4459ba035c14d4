//! The ceremony's commands. Each one: load state, do its work with the token, verify what the
//! token signed, write outputs that did not exist before, then record the step in the
//! transcript and save the state.
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, ensure, Context, Result};
use fleetca::csr::VerifiedCsr;
use fleetca::profile::{loopback_exclusions, IntermediateProfile, RootProfile};
use fleetca::serial::Serial;
use fleetca::{inspect, lint};
use fleetca_hsm::{
    LintSigner, PinSource, Pkcs11Config, Pkcs11Key, Pkcs11Token, PublicKey, RcgenSigner, Signer,
};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::cli::{
    Cli, Command, CrlArgs, Global, InitArgs, RevokeArgs, SignArgs, TranscriptCommand,
};
use crate::state::{write_new, Issued, Revoked, State, ROOT_CERT};
use crate::transcript::{self, sha256_hex, Entry};

pub(crate) fn run(cli: Cli) -> Result<()> {
    let g = &cli.global;
    match &cli.command {
        Command::Init(a) => init(g, a),
        Command::SignIntermediate(a) => sign_intermediate(g, a),
        Command::Revoke(a) => revoke(g, a),
        Command::Crl(a) => crl(g, a),
        Command::Show => show(g),
        Command::Transcript(TranscriptCommand::Verify) => transcript_verify(g),
    }
}

fn now() -> OffsetDateTime {
    // Certificates carry whole seconds; truncating here keeps the lint copy and the real
    // signature byte-identical and the transcript readable.
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

fn parse_time(s: &str, flag: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .with_context(|| format!("{flag} {s:?} is not an RFC 3339 time like 2050-01-01T00:00:00Z"))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn operator(g: &Global) -> Result<String> {
    match g.operator.as_deref().map(str::trim) {
        Some(o) if !o.is_empty() => Ok(o.to_string()),
        _ => {
            bail!("name the operator running this step with --operator NAME (or FLEETCA_OPERATOR)")
        }
    }
}

fn pin_source(g: &Global) -> PinSource {
    match &g.pin_file {
        Some(p) => PinSource::File(p.clone()),
        None => PinSource::Env(g.pin_env.clone()),
    }
}

fn open_token(g: &Global) -> Result<Pkcs11Token> {
    let config = Pkcs11Config {
        module: g.module.clone(),
        token_label: g.token.clone(),
        pin: pin_source(g),
    };
    Pkcs11Token::open(&config).map_err(|e| anyhow!(e))
}

/// Opens the root key and checks it is the key in root.pem.
fn open_root(g: &Global, state: &State) -> Result<(Pkcs11Key, Vec<u8>)> {
    let token = open_token(g)?;
    let key = token.find(&state.key_label).map_err(|e| anyhow!(e))?;
    let fp = key.public_key().fingerprint();
    ensure!(
        fp == state.key_fingerprint,
        "key {:?} on token {:?} has fingerprint {fp}, but the root certificate's key is {}",
        state.key_label,
        g.token,
        state.key_fingerprint
    );
    let root_der = read_cert(&g.dir.join(ROOT_CERT))?;
    Ok((key, root_der))
}

fn read_cert(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    fleetca::pem::decode_one("CERTIFICATE", &bytes)
        .with_context(|| format!("{} is not a certificate", path.display()))
}

fn rel(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}

struct Record<'a> {
    g: &'a Global,
    command: &'static str,
    inputs: BTreeMap<String, String>,
    outputs: BTreeMap<String, String>,
    details: BTreeMap<String, String>,
    token_serial: Option<String>,
    key_fingerprint: Option<String>,
}

impl<'a> Record<'a> {
    fn new(g: &'a Global, command: &'static str) -> Self {
        Self {
            g,
            command,
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            details: BTreeMap::new(),
            token_serial: None,
            key_fingerprint: None,
        }
    }

    fn input(&mut self, path: &Path, bytes: &[u8]) {
        self.inputs
            .insert(rel(&self.g.dir, path), sha256_hex(bytes));
    }

    fn output(&mut self, path: &Path, bytes: &[u8]) {
        self.outputs
            .insert(rel(&self.g.dir, path), sha256_hex(bytes));
    }

    fn detail(&mut self, k: &str, v: impl Into<String>) {
        self.details.insert(k.to_string(), v.into());
    }

    fn key(&mut self, token: &Pkcs11Token, public: &PublicKey) {
        self.token_serial = Some(token.serial().to_string());
        self.key_fingerprint = Some(public.fingerprint());
    }

    /// Appends to the transcript and saves the state with the new head.
    fn commit(self, state: &mut State) -> Result<()> {
        let entry = Entry {
            seq: 0,
            time: rfc3339(now()),
            operator: operator(self.g)?,
            command: self.command.to_string(),
            args: std::env::args().skip(1).collect(),
            inputs: self.inputs,
            outputs: self.outputs,
            token_serial: self.token_serial,
            key_fingerprint: self.key_fingerprint,
            details: self.details,
            prev: String::new(),
        };
        let head = transcript::append(&self.g.dir, state.transcript_head.as_ref(), entry)?;
        state.transcript_head = Some(head);
        state.save(&self.g.dir)
    }
}

fn init(g: &Global, a: &InitArgs) -> Result<()> {
    operator(g)?;
    ensure!(
        !State::path(&g.dir).exists(),
        "{} already holds a ceremony; use a new --dir",
        g.dir.display()
    );
    let not_before = a
        .not_before
        .as_deref()
        .map(|s| parse_time(s, "--not-before"))
        .transpose()?
        .unwrap_or_else(now);
    let not_after = match &a.not_after {
        Some(s) => parse_time(s, "--not-after")?,
        None => not_before + Duration::days(a.validity_days),
    };
    ensure!(
        not_after > not_before,
        "the root's notAfter must be after its notBefore"
    );
    ensure!(
        a.key_type.rcgen_algorithm().is_some(),
        "{} keys cannot sign X.509 here; use p256, p384, rsa3072 or rsa4096",
        a.key_type
    );
    let profile = RootProfile {
        common_name: a.cn.clone(),
        organization: a.org.clone(),
        not_before,
        not_after,
        serial: Serial::random()?,
    };
    let token = open_token(g)?;
    eprintln!(
        "generating {} key {:?} on token {:?} (serial {})",
        a.key_type,
        a.key_label,
        token.label(),
        token.serial()
    );
    let key = token
        .generate(&a.key_label, a.key_type)
        .map_err(|e| anyhow!(e))?;
    let attrs = key.attributes().map_err(|e| anyhow!(e))?;
    ensure!(
        attrs.sensitive && !attrs.extractable && attrs.token,
        "the token did not keep the key sensitive and non-extractable: {attrs:?}"
    );
    let params = profile.params(&key.public_key().spki_der)?;

    let signer = RcgenSigner::new(&key)?;
    let cert = params
        .self_signed(&signer)
        .map_err(|e| signing_error(e, &signer))?;
    let der = cert.der().to_vec();
    let parsed = lint::parse(&der)?;
    verify_signed(&parsed, key.public_key())?;
    let findings = lint::check(&parsed, Some(&parsed));
    ensure_clean(&findings)?;

    std::fs::create_dir_all(&g.dir)
        .with_context(|| format!("cannot create {}", g.dir.display()))?;
    let pem = fleetca::pem::encode("CERTIFICATE", &der);
    let root_path = g.dir.join(ROOT_CERT);
    write_new(&root_path, pem.as_bytes())?;

    let mut state = State {
        version: 1,
        token_label: token.label().to_string(),
        token_serial: token.serial().to_string(),
        key_label: a.key_label.clone(),
        key_type: a.key_type.to_string(),
        key_fingerprint: key.public_key().fingerprint(),
        root_serial: profile.serial.to_hex(),
        crl_url: a.crl_url.clone(),
        ca_issuers_url: a.ca_issuers_url.clone(),
        crl_number: 0,
        issued: vec![],
        revoked: vec![],
        transcript_head: None,
    };
    let mut rec = Record::new(g, "init");
    rec.key(&token, key.public_key());
    rec.output(&root_path, pem.as_bytes());
    rec.detail("root_serial", profile.serial.to_hex());
    rec.detail("not_after", rfc3339(not_after));
    rec.commit(&mut state)?;

    println!("root certificate: {}", root_path.display());
    print!("{}", inspect::describe_certificate(&der)?);
    println!(
        "key fingerprint (SPKI SHA-256): {}",
        key.public_key().fingerprint()
    );
    Ok(())
}

fn signing_error(e: rcgen::Error, signer: &RcgenSigner<'_>) -> anyhow::Error {
    match signer.take_error() {
        Some(h) => anyhow!("signing on the token failed: {h}"),
        None => anyhow!("cannot build the certificate: {e}"),
    }
}

/// Verifies a certificate's signature with the given key, independently of the token.
fn verify_signed(cert: &x509_cert::Certificate, key: &PublicKey) -> Result<()> {
    let tbs = lint::tbs_der(cert)?;
    let sig = cert
        .signature
        .as_bytes()
        .ok_or_else(|| anyhow!("signature has unused bits"))?;
    key.verify(&tbs, sig)
        .map_err(|e| anyhow!("the token's signature does not verify: {e}"))
}

fn ensure_clean(findings: &[lint::Finding]) -> Result<()> {
    for f in findings {
        eprintln!("lint: {f}");
    }
    let errors = lint::errors(findings);
    ensure!(
        errors.is_empty(),
        "refusing to sign: {} lint error(s)",
        errors.len()
    );
    Ok(())
}

/// Asks on stderr and reads one line from stdin; only the exact word `yes` confirms. With no
/// terminal and no input (a script that forgot `--yes`), this reads EOF and refuses.
fn confirm(prompt: &str) -> Result<bool> {
    eprint!("{prompt} ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

fn sign_intermediate(g: &Global, a: &SignArgs) -> Result<()> {
    operator(g)?;
    let mut state = State::load(&g.dir)?;
    ensure!(
        fleetca::policy::is_cluster_name(&a.cluster),
        "cluster name {:?} must be 1-63 lower-case letters, digits or '-'",
        a.cluster
    );
    let csr_bytes =
        std::fs::read(&a.csr).with_context(|| format!("cannot read CSR {}", a.csr.display()))?;
    let csr = VerifiedCsr::parse(&csr_bytes)
        .with_context(|| format!("CSR {} refused", a.csr.display()))?;
    if let Some((ca, path_len)) = csr.requested_ca {
        eprintln!(
            "note: the CSR asks for CA:{ca}{}; the intermediate profile decides (CA:true, pathlen:0)",
            path_len.map(|p| format!(" pathlen:{p}")).unwrap_or_default()
        );
    }
    if !csr.requested_extensions.is_empty() {
        eprintln!(
            "note: requested extensions ignored: {}",
            csr.requested_extensions.join(", ")
        );
    }
    let public = csr.rcgen_public_key()?;
    if a.no_exclude_loopback {
        eprintln!("warning: --no-exclude-loopback: this intermediate may issue for loopback addresses; use it only for a development-only serving certificate");
    }

    let (key, root_der) = open_root(g, &state)?;
    let root = lint::parse(&root_der)?;
    let root_not_after = OffsetDateTime::from_unix_timestamp(
        root.tbs_certificate
            .validity
            .not_after
            .to_unix_duration()
            .as_secs() as i64,
    )?;
    let not_before = now();
    let mut not_after = match &a.not_after {
        Some(s) => parse_time(s, "--not-after")?,
        None => not_before + Duration::days(a.validity_days),
    };
    if not_after > root_not_after {
        eprintln!(
            "note: notAfter clamped to the root's notAfter {}",
            rfc3339(root_not_after)
        );
        not_after = root_not_after;
    }
    let root_org = root
        .tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == const_oid::db::rfc4519::O)
        .and_then(|atv| {
            std::str::from_utf8(atv.value.value())
                .ok()
                .map(str::to_string)
        });
    let profile = IntermediateProfile {
        common_name: a
            .cn
            .clone()
            .or(csr.common_name.clone())
            .unwrap_or_else(|| format!("fleetca {} issuing CA", a.cluster)),
        organization: root_org,
        not_before,
        not_after,
        serial: Serial::random()?,
        permitted_dns: a.permit_dns.clone(),
        permitted_uri_hosts: a.spiffe_trust_domain.iter().cloned().collect(),
        excluded_ip: if a.no_exclude_loopback {
            vec![]
        } else {
            loopback_exclusions()
        },
        crl_url: a.crl_url.clone().or(state.crl_url.clone()),
        ca_issuers_url: a.ca_issuers_url.clone().or(state.ca_issuers_url.clone()),
        ocsp_url: a.ocsp_url.clone(),
    };
    let params = profile.params(&csr.spki_der)?;

    // 1. The lint copy: same TBS, dummy signature. Lint it and show it.
    let lint_signer = LintSigner::new(key.public_key().clone());
    let lint_rcgen = RcgenSigner::new(&lint_signer)?;
    let lint_issuer = rcgen::Issuer::from_ca_cert_der(&root_der.clone().into(), &lint_rcgen)?;
    let lint_cert = params.signed_by(&public, &lint_issuer)?;
    let lint_parsed = lint::parse(lint_cert.der())?;
    ensure_clean(&lint::check(&lint_parsed, Some(&root)))?;
    println!(
        "About to sign this intermediate for cluster {:?}:",
        a.cluster
    );
    print!("{}", inspect::describe_certificate(lint_cert.der())?);
    if !a.yes && !confirm("Type 'yes' to sign with the root key:")? {
        bail!("not confirmed; nothing was signed");
    }

    // 2. Sign for real, require identical TBS bytes, verify, lint again.
    let signer = RcgenSigner::new(&key)?;
    let issuer = rcgen::Issuer::from_ca_cert_der(&root_der.clone().into(), &signer)?;
    let cert = params
        .signed_by(&public, &issuer)
        .map_err(|e| signing_error(e, &signer))?;
    let parsed = lint::parse(cert.der())?;
    ensure!(
        lint::tbs_der(&parsed)? == lint::tbs_der(&lint_parsed)?,
        "the signed certificate differs from the one shown; not written"
    );
    verify_signed(&parsed, key.public_key())?;
    ensure_clean(&lint::check(&parsed, Some(&root)))?;

    let pem = fleetca::pem::encode("CERTIFICATE", cert.der());
    let archive = g
        .dir
        .join("intermediates")
        .join(format!("{}-{}.pem", a.cluster, profile.serial));
    write_new(&archive, pem.as_bytes())?;
    let out: PathBuf = a.out.clone().unwrap_or_else(|| {
        g.dir
            .join("intermediates")
            .join(format!("{}.pem", a.cluster))
    });
    if out != archive {
        if out.exists() {
            std::fs::remove_file(&out)
                .with_context(|| format!("cannot replace {}", out.display()))?;
        }
        write_new(&out, pem.as_bytes())?;
    }
    state.issued.push(Issued {
        serial: profile.serial.to_hex(),
        cluster: a.cluster.clone(),
        subject: profile.common_name.clone(),
        not_after: rfc3339(not_after),
        file: rel(&g.dir, &archive),
    });
    let mut rec = Record::new(g, "sign-intermediate");
    rec.key(key.token(), key.public_key());
    rec.input(&a.csr, &csr_bytes);
    rec.output(&archive, pem.as_bytes());
    rec.detail("cluster", a.cluster.clone());
    rec.detail("serial", profile.serial.to_hex());
    if a.no_exclude_loopback {
        rec.detail("loopback_excluded", "false");
    }
    rec.commit(&mut state)?;
    println!("signed: {} (serial {})", out.display(), profile.serial);
    Ok(())
}

fn parse_reason(r: &str) -> Result<Option<rcgen::RevocationReason>> {
    use rcgen::RevocationReason as R;
    Ok(match r.to_ascii_lowercase().as_str() {
        "unspecified" => None,
        "keycompromise" => Some(R::KeyCompromise),
        "cacompromise" => Some(R::CaCompromise),
        "affiliationchanged" => Some(R::AffiliationChanged),
        "superseded" => Some(R::Superseded),
        "cessationofoperation" => Some(R::CessationOfOperation),
        "privilegewithdrawn" => Some(R::PrivilegeWithdrawn),
        _ => bail!("unknown reason {r:?}; use unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation or privilegeWithdrawn"),
    })
}

fn revoke(g: &Global, a: &RevokeArgs) -> Result<()> {
    operator(g)?;
    let mut state = State::load(&g.dir)?;
    let serial = Serial::from_hex(&a.serial)?.to_hex();
    parse_reason(&a.reason)?;
    let issued = state
        .issued
        .iter()
        .find(|i| i.serial == serial)
        .ok_or_else(|| {
            anyhow!("serial {serial} was not signed in this ceremony (see `fleetca-ceremony show`)")
        })?
        .clone();
    ensure!(
        !state.revoked.iter().any(|r| r.serial == serial),
        "serial {serial} is already revoked"
    );
    state.revoked.push(Revoked {
        serial: serial.clone(),
        reason: a.reason.clone(),
        time: rfc3339(now()),
    });
    let mut rec = Record::new(g, "revoke");
    rec.detail("serial", serial.clone());
    rec.detail("cluster", issued.cluster.clone());
    rec.detail("reason", a.reason.clone());
    rec.commit(&mut state)?;
    println!(
        "revoked {serial} ({}); run `fleetca-ceremony crl` to sign a CRL that says so",
        issued.cluster
    );
    Ok(())
}

fn crl(g: &Global, a: &CrlArgs) -> Result<()> {
    operator(g)?;
    ensure!(
        a.next_update_days > 0,
        "--next-update-days must be positive"
    );
    let mut state = State::load(&g.dir)?;
    let (key, root_der) = open_root(g, &state)?;
    let root = lint::parse(&root_der)?;
    let ski = lint::subject_key_id(&root).ok_or_else(|| anyhow!("root certificate has no SKI"))?;
    let number = state.crl_number + 1;
    let this_update = now();
    let mut revoked_certs = Vec::new();
    for r in &state.revoked {
        revoked_certs.push(rcgen::RevokedCertParams {
            serial_number: Serial::from_hex(&r.serial)?.to_rcgen(),
            revocation_time: OffsetDateTime::parse(&r.time, &Rfc3339)?,
            reason_code: parse_reason(&r.reason)?,
            invalidity_date: None,
        });
    }
    let params = rcgen::CertificateRevocationListParams {
        this_update,
        next_update: this_update + Duration::days(a.next_update_days),
        crl_number: rcgen::SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs,
        // AKI copied from the root's SKI, not recomputed (FIELD-CASES C31).
        key_identifier_method: rcgen::KeyIdMethod::PreSpecified(ski),
    };
    let signer = RcgenSigner::new(&key)?;
    let issuer = rcgen::Issuer::from_ca_cert_der(&root_der.clone().into(), &signer)?;
    let crl = params
        .signed_by(&issuer)
        .map_err(|e| signing_error(e, &signer))?;
    let der = crl.der().to_vec();
    verify_crl(&der, key.public_key())?;

    let archive = g.dir.join("crl").join(format!("root-{number}.crl"));
    write_new(&archive, &der)?;
    let current = g.dir.join("root.crl");
    crate::state::write_atomic(&current, &der)?;
    crate::state::write_atomic(
        &g.dir.join("root.crl.pem"),
        fleetca::pem::encode("X509 CRL", &der).as_bytes(),
    )?;
    if let Some(out) = &a.out {
        write_new(out, &der)?;
    }
    state.crl_number = number;
    let mut rec = Record::new(g, "crl");
    rec.key(key.token(), key.public_key());
    rec.output(&archive, &der);
    rec.detail("crl_number", number.to_string());
    rec.detail("revoked", state.revoked.len().to_string());
    rec.commit(&mut state)?;
    println!(
        "root CRL #{number}: {} ({} revoked; PEM copy root.crl.pem)",
        current.display(),
        state.revoked.len()
    );
    Ok(())
}

fn verify_crl(der: &[u8], key: &PublicKey) -> Result<()> {
    use der::{Decode, Encode};
    let crl = x509_cert::crl::CertificateList::from_der(der)?;
    let tbs = crl.tbs_cert_list.to_der()?;
    let sig = crl
        .signature
        .as_bytes()
        .ok_or_else(|| anyhow!("CRL signature has unused bits"))?;
    key.verify(&tbs, sig)
        .map_err(|e| anyhow!("the token's CRL signature does not verify: {e}"))
}

fn show(g: &Global) -> Result<()> {
    let state = State::load(&g.dir)?;
    let root_der = read_cert(&g.dir.join(ROOT_CERT))?;
    println!("root ({}):", g.dir.join(ROOT_CERT).display());
    print!("{}", inspect::describe_certificate(&root_der)?);
    println!(
        "key: {:?} ({}) on token {:?} serial {}",
        state.key_label, state.key_type, state.token_label, state.token_serial
    );
    println!("intermediates:");
    for i in &state.issued {
        let revoked = state.revoked.iter().find(|r| r.serial == i.serial);
        println!(
            "  {} {} {} until {}{}",
            i.serial,
            i.cluster,
            i.file,
            i.not_after,
            revoked
                .map(|r| format!(" REVOKED {} ({})", r.time, r.reason))
                .unwrap_or_default()
        );
    }
    println!("last root CRL number: {}", state.crl_number);
    Ok(())
}

fn transcript_verify(g: &Global) -> Result<()> {
    let state = State::load(&g.dir)?;
    let path = g.dir.join(transcript::TRANSCRIPT_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    match transcript::verify(&text, state.transcript_head.as_ref()) {
        Ok(n) => {
            println!("transcript OK: {n} entries, chain intact, head matches the ceremony state");
            Ok(())
        }
        Err(broken) => bail!("transcript does not verify: {broken}"),
    }
}
