//! A whole fleetca deployment for one test: SoftHSM tokens, a root ceremony, two cluster
//! intermediates (`cluster1` for workloads, `fleetca-service` for the development-only
//! serving certificate), a config with free loopback ports, and `fleetca serve` as a child
//! process that is killed on drop.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// A free TCP port on 127.0.0.1 (bound and released; good enough on a test machine).
pub fn free_port() -> u16 {
    // Below the kernel's ephemeral range (32768-60999), so no outgoing connection of another
    // test can take the port between this check and the server's bind (or its restart).
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = (std::process::id() as u16 % 500) * 20;
    loop {
        let port = 20000 + (seed + NEXT.fetch_add(1, Ordering::Relaxed)) % 12000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// An EAB key minted with `fleetca account new`.
#[derive(Debug, Clone)]
pub struct Eab {
    pub kid: String,
    pub hmac: String,
    pub manifest: String,
}

pub struct Fleet {
    pub hsm: SoftHsm,
    pub https_port: u16,
    pub public_port: u16,
    pub http01_port: u16,
    child: Option<Child>,
}

impl Fleet {
    /// Ceremony and clusters, with the server not yet started.
    pub fn new() -> Self {
        Self::with_extra_config("")
    }

    /// As `new`, with extra TOML appended to the `[challenges.resolve]` table.
    pub fn with_extra_config(resolve_extra: &str) -> Self {
        require("openssl", "apt-get install openssl");
        let hsm = SoftHsm::new();
        let fleet = Self {
            hsm,
            https_port: free_port(),
            public_port: free_port(),
            http01_port: free_port(),
            child: None,
        };
        let d = fleet.dir();
        let ceremony = |args: &[&str]| {
            let mut c = fleet.hsm.command(bin("fleetca-ceremony"));
            c.env("FLEETCA_OPERATOR", "test")
                .args(["--dir", "ceremony", "--pin-file"])
                .arg(fleet.hsm.pin_file("fleetca-root"))
                .args(args);
            ok(&mut c);
        };
        ceremony(&[
            "init",
            "--org",
            "Example Org",
            "--crl-url",
            &format!("http://127.0.0.1:{}/crl/root.crl", fleet.public_port),
        ]);
        std::fs::write(
            d.join("fleetca.toml"),
            format!(
                r#"data_dir = "data"
root_cert = "ceremony/root.pem"

[server]
listen = "127.0.0.1:{https}"
external_url = "https://127.0.0.1:{https}"
dns_name = "fleetca.example.org"
tls_cluster = "fleetca-service"
dev_ip_addresses = ["127.0.0.1"]

[public]
listen = "127.0.0.1:{public}"
url = "http://127.0.0.1:{public}"

[hsm]
pin_file = "hsm/fleetca-issuing.pin"

[challenges]
http01_port = {http01}
[challenges.resolve]
"app.cluster1.example.org" = "127.0.0.1"
"www.cluster1.example.org" = "127.0.0.1"
{resolve_extra}
"#,
                https = fleet.https_port,
                public = fleet.public_port,
                http01 = fleet.http01_port,
            ),
        )
        .expect("write config");
        ok(&mut fleet.fleetca(&["cluster", "add", "cluster1"]));
        ok(&mut fleet.fleetca(&["cluster", "add", "fleetca-service"]));
        ceremony(&[
            "sign-intermediate",
            "--csr",
            "data/clusters/cluster1.csr",
            "--cluster",
            "cluster1",
            "--yes",
            "--permit-dns",
            "cluster1.example.org",
            "--permit-dns",
            "svc.cluster.local",
            "--permit-dns",
            "svc",
            "--spiffe-trust-domain",
            "cluster1.example.org",
        ]);
        ceremony(&[
            "sign-intermediate",
            "--csr",
            "data/clusters/fleetca-service.csr",
            "--cluster",
            "fleetca-service",
            "--yes",
            "--permit-dns",
            "fleetca.example.org",
            "--no-exclude-loopback",
        ]);
        ok(&mut fleet.fleetca(&[
            "cluster",
            "import",
            "cluster1",
            "--cert",
            "ceremony/intermediates/cluster1.pem",
        ]));
        ok(&mut fleet.fleetca(&[
            "cluster",
            "import",
            "fleetca-service",
            "--cert",
            "ceremony/intermediates/fleetca-service.pem",
        ]));
        fleet
    }

    pub fn dir(&self) -> PathBuf {
        self.hsm.path().to_path_buf()
    }

    pub fn root_pem(&self) -> PathBuf {
        self.dir().join("ceremony/root.pem")
    }

    pub fn intermediate_pem(&self) -> PathBuf {
        self.dir().join("ceremony/intermediates/cluster1.pem")
    }

    pub fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.https_port)
    }

    pub fn directory(&self, cluster: &str) -> String {
        format!("{}/acme/{cluster}/directory", self.base())
    }

    /// `fleetca ARGS` against this fleet's config.
    pub fn fleetca(&self, args: &[&str]) -> Command {
        let mut c = self.hsm.command(bin("fleetca"));
        c.env("FLEETCA_CONFIG", self.dir().join("fleetca.toml"))
            .env("RUST_LOG", "warn")
            .args(args);
        c
    }

    /// Starts `fleetca serve` with extra environment and waits until its directory answers.
    pub fn start_with_env(&mut self, env: &[(&str, &str)]) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir().join("serve.log"))
            .expect("log");
        let mut c = self.fleetca(&["serve"]);
        c.env("RUST_LOG", "info").stdout(Stdio::null()).stderr(log);
        for (k, v) in env {
            c.env(k, v);
        }
        self.child = Some(c.spawn().expect("spawn fleetca serve"));
        let deadline = Instant::now() + Duration::from_secs(30);
        let agent = self.agent();
        loop {
            if let Ok(r) = agent.get(&self.directory("cluster1")).call() {
                if r.status() == 200 {
                    return;
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("fleetca serve exited with {status}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "fleetca serve did not come up:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn start(&mut self) {
        self.start_with_env(&[]);
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("serve.log")).unwrap_or_default()
    }

    /// Stops the server: SIGKILL (nothing is flushed at exit; durability must not depend on it).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// An HTTPS client that trusts the fleet's root.
    pub fn agent(&self) -> ureq::Agent {
        let pem = std::fs::read(self.root_pem()).expect("root");
        let der = fleetca::pem::decode_one("CERTIFICATE", &pem).expect("pem");
        let roots = vec![ureq::tls::Certificate::from_der(&der).to_owned()];
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(roots)))
            .build();
        ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into()
    }

    /// Mints an EAB key for `namespace` on cluster1.
    pub fn account(&self, namespace: &str, suffixes: &[&str]) -> Eab {
        let mut args = vec![
            "account",
            "new",
            "--cluster",
            "cluster1",
            "--namespace",
            namespace,
            "--json",
        ];
        for s in suffixes {
            args.push("--suffix");
            args.push(s);
        }
        let out = self.fleetca(&args).output().expect("run fleetca");
        assert!(out.status.success(), "account new failed: {}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        Eab {
            kid: v["kid"].as_str().expect("kid").to_string(),
            hmac: v["hmac_key"].as_str().expect("hmac").to_string(),
            manifest: v["manifest"].as_str().expect("manifest").to_string(),
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Helpers for tests that need more than the two clusters `Fleet::new` makes (revocation tests).
impl Fleet {
    /// `fleetca-ceremony ARGS` on this fleet's ceremony directory (root token), asserting
    /// success; returns its output.
    pub fn ceremony(&self, args: &[&str]) -> String {
        let mut c = self.hsm.command(bin("fleetca-ceremony"));
        c.env("FLEETCA_OPERATOR", "test")
            .args(["--dir", "ceremony", "--pin-file"])
            .arg(self.hsm.pin_file("fleetca-root"))
            .args(args);
        ok(&mut c)
    }

    /// Adds a workload cluster: `fleetca cluster add NAME`, the ceremony signs its intermediate
    /// (permitted DNS `permit_dns`, SPIFFE trust domain `NAME.example.org`) and
    /// `fleetca cluster import` activates it (live, if the server runs).
    pub fn add_cluster(&self, name: &str, permit_dns: &[&str]) {
        ok(&mut self.fleetca(&["cluster", "add", name]));
        let csr = format!("data/clusters/{name}.csr");
        let td = format!("{name}.example.org");
        let mut args = vec![
            "sign-intermediate",
            "--csr",
            &csr,
            "--cluster",
            name,
            "--yes",
            "--spiffe-trust-domain",
            &td,
        ];
        for d in permit_dns {
            args.push("--permit-dns");
            args.push(d);
        }
        self.ceremony(&args);
        let pem = format!("ceremony/intermediates/{name}.pem");
        ok(&mut self.fleetca(&["cluster", "import", name, "--cert", &pem]));
    }

    /// Mints an EAB key for `namespace` on `cluster`.
    pub fn account_in(&self, cluster: &str, namespace: &str) -> Eab {
        let out = self
            .fleetca(&[
                "account",
                "new",
                "--cluster",
                cluster,
                "--namespace",
                namespace,
                "--json",
            ])
            .output()
            .expect("run fleetca");
        assert!(out.status.success(), "account new failed: {}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        Eab {
            kid: v["kid"].as_str().expect("kid").to_string(),
            hmac: v["hmac_key"].as_str().expect("hmac").to_string(),
            manifest: v["manifest"].as_str().expect("manifest").to_string(),
        }
    }
}

impl Fleet {
    /// Stops the server with SIGTERM, as a service manager would, and returns its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -TERM {pid}");
        child.wait().expect("wait")
    }
}
