//! Shared helpers for the end-to-end tests: real SoftHSM tokens made by softhsm-setup.sh in a
//! temporary directory, the workspace's binaries, and the external tools the tests drive.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root (this package's manifest directory).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails with a hint when an external tool the test needs is missing.
pub fn require(tool: &str, hint: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is not installed: {hint} (or run .ci/run, which installs everything)"
    );
}

/// Path of a workspace binary, built once per test process. `cargo test` builds a package's
/// own binaries only, so the end-to-end tests build the workspace's binaries explicitly —
/// with `--tests`, so that features are unified exactly as in `cargo test --workspace` and
/// this build is a no-op there instead of rebuilding ring and rustls.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(root())
            .args([
                "build",
                "--locked",
                "--quiet",
                "--workspace",
                "--bins",
                "--tests",
            ])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build --bins failed");
    });
    let exe = std::env::current_exe().expect("current_exe");
    // target/debug/deps/test-binary -> target/debug/NAME
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    dir.join(name)
}

/// A SoftHSM2 token directory made by softhsm-setup.sh, with both fleetca tokens.
pub struct SoftHsm {
    pub dir: tempfile::TempDir,
}

impl SoftHsm {
    pub fn new() -> Self {
        require("softhsm2-util", "apt-get install softhsm2");
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("bash")
            .arg(root().join("softhsm-setup.sh"))
            .arg("--dir")
            .arg(dir.path().join("hsm"))
            .env_remove("FLEETCA_ROOT_PIN")
            .env_remove("FLEETCA_ISSUING_PIN")
            .output()
            .expect("run softhsm-setup.sh");
        assert!(
            out.status.success(),
            "softhsm-setup.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("export SOFTHSM2_CONF="),
            "setup prints the export line: {stdout}"
        );
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("hsm/softhsm2.conf")
    }

    pub fn pin_file(&self, token: &str) -> PathBuf {
        self.dir.path().join(format!("hsm/{token}.pin"))
    }

    pub fn pin(&self, token: &str) -> String {
        std::fs::read_to_string(self.pin_file(token))
            .expect("pin file")
            .trim()
            .to_string()
    }

    /// A command with SOFTHSM2_CONF pointing at this token store.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("SOFTHSM2_CONF", self.conf()).current_dir(self.path());
        c
    }
}

pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Output as text, for assertions.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs a command, asserting success, and returns stdout+stderr.
pub fn ok(cmd: &mut Command) -> String {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let t = text(&o);
    assert!(o.status.success(), "{cmd:?} failed:\n{t}");
    assert!(!t.contains("panicked"), "{cmd:?} panicked:\n{t}");
    t
}

/// Runs a command, asserting a clean failure (non-zero exit, no panic), and returns its output.
pub fn fails(cmd: &mut Command) -> String {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let t = text(&o);
    assert!(!o.status.success(), "{cmd:?} should have failed:\n{t}");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{cmd:?} exits 1, not by a signal or panic:\n{t}"
    );
    assert!(!t.contains("panicked"), "{cmd:?} panicked:\n{t}");
    t
}

/// `openssl ARGS…` in `dir`.
pub fn openssl(dir: &Path) -> Command {
    let mut c = Command::new("openssl");
    c.current_dir(dir);
    c
}

/// pkilint at `-s WARNING`: returns its output; asserts exit 0 (no finding at or above WARNING).
pub fn pkilint_clean(tool: &str, extra: &[&str], file: &Path) {
    require(tool, "pip install pkilint");
    let mut c = Command::new(tool);
    c.arg("lint").args(extra).args(["-s", "WARNING"]).arg(file);
    let o = c.output().expect("run pkilint");
    assert!(
        o.status.success(),
        "{tool} found problems in {}:\n{}",
        file.display(),
        text(&o)
    );
}

pub mod acme_client;
pub mod fleet;

/// Runs `cmd` to completion with piped output, killing it (and failing the test with what it
/// printed so far) if it is still running after `limit`: a wedged peer must not hang the test.
pub fn output_within(cmd: &mut Command, limit: std::time::Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{cmd:?} did not finish within {} s and was killed:\n{}{}",
            limit.as_secs(),
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}
