//! The relying parties' HTTP endpoints: CRLs, the OCSP responder (POST and GET, RFC 6960
//! Appendix A, RFC 5019 §5-6 caching headers) and the CA certificates named in AIA. Served on
//! the plain-HTTP `public` listener (and on the HTTPS one).
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;

use super::{OcspAnswer, Revocation};
use crate::ra::Clusters;

/// The largest OCSP request accepted (RFC 5019 requests are ~100 bytes).
const MAX_OCSP_REQUEST: usize = 4096;

#[derive(Clone)]
struct Public {
    revocation: Arc<Revocation>,
    clusters: Clusters,
    root_der: Arc<Vec<u8>>,
}

/// The public router.
pub fn router(revocation: Arc<Revocation>, clusters: Clusters, root_der: Vec<u8>) -> Router {
    Router::new()
        .route("/crl/{file}", get(crl))
        .route("/ca/{file}", get(ca_cert))
        .route("/ocsp/{cluster}", axum::routing::post(ocsp_post))
        .route("/ocsp/{cluster}/{*request}", get(ocsp_get))
        .with_state(Public {
            revocation,
            clusters,
            root_der: Arc::new(root_der),
        })
}

fn der(content_type: &'static str, body: Arc<Vec<u8>>) -> Response {
    let mut r = (StatusCode::OK, Bytes::from(body.as_ref().clone())).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn not_found(what: String) -> Response {
    (StatusCode::NOT_FOUND, format!("{what}\n")).into_response()
}

async fn crl(State(p): State<Public>, Path(file): Path<String>) -> Response {
    let Some(name) = file.strip_suffix(".crl") else {
        return not_found(format!("no CRL {file}"));
    };
    let crl = if name == "root" {
        p.revocation.root_crl()
    } else {
        p.revocation.crl(name)
    };
    match crl {
        Some(c) => der("application/pkix-crl", c),
        None if name == "root" => {
            not_found("no root CRL published yet (fleetca crl publish-root FILE)".into())
        }
        None => not_found(format!("no CRL for cluster {name}")),
    }
}

async fn ca_cert(State(p): State<Public>, Path(file): Path<String>) -> Response {
    let Some(name) = file.strip_suffix(".der") else {
        return not_found(format!("no certificate {file}"));
    };
    if name == "root" {
        return der("application/pkix-cert", Arc::clone(&p.root_der));
    }
    let ca = p.clusters.read().ok().and_then(|c| c.get(name).cloned());
    match ca {
        Some(ca) => der("application/pkix-cert", Arc::new(ca.cert_der.clone())),
        None => not_found(format!("no cluster {name}")),
    }
}

fn ocsp_response(a: OcspAnswer) -> Response {
    let mut r = der("application/ocsp-response", a.der);
    let h = r.headers_mut();
    if let Some(age) = a.max_age.filter(|a| *a > 0) {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "max-age={age}, public, no-transform, must-revalidate"
        )) {
            h.insert(header::CACHE_CONTROL, v);
        }
    }
    if let Some(t) = a
        .produced
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
    {
        if let Ok(s) = t.format(&time::format_description::well_known::Rfc2822) {
            if let Ok(v) = HeaderValue::from_str(&s.replace("+0000", "GMT")) {
                h.insert(header::LAST_MODIFIED, v);
            }
        }
    }
    r
}

async fn ocsp_post(State(p): State<Public>, Path(_cluster): Path<String>, body: Body) -> Response {
    let bytes = match http_body_util::Limited::new(body, MAX_OCSP_REQUEST)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("OCSP requests are limited to {MAX_OCSP_REQUEST} bytes\n"),
            )
                .into_response()
        }
    };
    ocsp_response(p.revocation.ocsp(&bytes).await)
}

async fn ocsp_get(
    State(p): State<Public>,
    Path((_cluster, request)): Path<(String, String)>,
) -> Response {
    if request.len() > 2 * MAX_OCSP_REQUEST {
        return (StatusCode::URI_TOO_LONG, "OCSP request too long\n").into_response();
    }
    match fleetca::ocsp::decode_get_path(&request) {
        Ok(der) => ocsp_response(p.revocation.ocsp(&der).await),
        Err(e) => ocsp_response(OcspAnswer {
            der: Arc::new(fleetca::ocsp::error_response(e.response_status())),
            max_age: None,
            produced: None,
        }),
    }
}
