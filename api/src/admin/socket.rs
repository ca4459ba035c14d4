//! The admin socket: one JSON request per connection, authenticated by the admin token.
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tracing::{info, warn};

use super::{Admin, AdminRequest};

/// The largest request accepted.
const MAX_REQUEST: usize = 1024 * 1024;

#[derive(Serialize, Deserialize)]
struct Envelope {
    token: String,
    request: AdminRequest,
}

#[derive(Serialize, Deserialize)]
struct Reply {
    ok: bool,
    result: Option<serde_json::Value>,
    error: Option<String>,
}

/// Constant-time comparison, so the token cannot be guessed byte by byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Serves admin requests on `path` until the process ends.
pub async fn serve_socket(path: &Path, token: String, admin: Arc<Admin>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if path.exists() {
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove stale {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(path)
        .with_context(|| format!("cannot bind {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    info!(socket = %path.display(), "admin socket ready");
    loop {
        let (stream, _) = listener.accept().await?;
        let admin = Arc::clone(&admin);
        let token = token.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut reader = BufReader::new(read).take(MAX_REQUEST as u64);
            let reply = match reader.read_line(&mut line).await {
                Err(e) => Reply {
                    ok: false,
                    result: None,
                    error: Some(format!("read: {e}")),
                },
                Ok(_) => match serde_json::from_str::<Envelope>(&line) {
                    Err(e) => Reply {
                        ok: false,
                        result: None,
                        error: Some(format!("bad request: {e}")),
                    },
                    Ok(env) if !same(&env.token, &token) => {
                        warn!("admin request with a wrong token refused");
                        Reply {
                            ok: false,
                            result: None,
                            error: Some("wrong admin token".into()),
                        }
                    }
                    Ok(env) => {
                        match tokio::task::spawn_blocking(move || admin.execute(env.request)).await
                        {
                            Ok(Ok(v)) => Reply {
                                ok: true,
                                result: Some(v),
                                error: None,
                            },
                            Ok(Err(e)) => Reply {
                                ok: false,
                                result: None,
                                error: Some(format!("{e:#}")),
                            },
                            Err(e) => Reply {
                                ok: false,
                                result: None,
                                error: Some(format!("{e}")),
                            },
                        }
                    }
                },
            };
            let mut out = serde_json::to_vec(&reply).unwrap_or_default();
            out.push(b'\n');
            let _ = write.write_all(&out).await;
        });
    }
}

/// Sends one request to the running server. `Ok(None)`: no server answers on the socket.
pub async fn call(
    path: &Path,
    token: &str,
    request: &AdminRequest,
) -> Result<Option<serde_json::Value>> {
    let stream = match tokio::net::UnixStream::connect(path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(anyhow!("cannot connect to {}: {e}", path.display())),
    };
    let (read, mut write) = stream.into_split();
    let mut msg = serde_json::to_vec(&Envelope {
        token: token.to_string(),
        request: request.clone(),
    })?;
    msg.push(b'\n');
    write.write_all(&msg).await?;
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let reply: Reply = serde_json::from_str(&line)
        .with_context(|| format!("bad reply from the server: {line:?}"))?;
    if !reply.ok {
        bail!("{}", reply.error.unwrap_or_default());
    }
    Ok(Some(reply.result.unwrap_or(serde_json::Value::Null)))
}
