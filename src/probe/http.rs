//! HTTP/1.1 over loopback: one exchange with the service (a new connection per attempt, as a
//! client with no pool does), and the fake payment provider's server.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// How one exchange with the service ended, short of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Nothing listens (the service is down, or was never there).
    Refused,
    /// The connection broke before an answer came (a crash mid-request).
    Broken,
    /// What came back is not HTTP.
    Garbage(String),
    /// No answer within the exchange's own limit.
    Silent,
}

/// One request: method, path, headers and a JSON body.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// `POST`, `PUT`, ...
    pub method: String,
    /// `/payments`
    pub path: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: String,
}

/// Sends `request` to `addr` on a connection of its own and reads the answer: its status and
/// body. Gives up after `limit`.
pub async fn exchange(
    addr: SocketAddr,
    request: &Outgoing,
    limit: Duration,
) -> Result<(u16, Vec<u8>), Failure> {
    match tokio::time::timeout(limit, exchange_inner(addr, request)).await {
        Ok(result) => result,
        Err(_) => Err(Failure::Silent),
    }
}

async fn exchange_inner(addr: SocketAddr, request: &Outgoing) -> Result<(u16, Vec<u8>), Failure> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|_| Failure::Refused)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Failure::Garbage(e.to_string()))?;
    let driver = tokio::spawn(connection);
    let mut builder = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(request.path.as_str())
        .header("host", addr.to_string())
        .header("content-type", "application/json");
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let built = builder
        .body(Full::new(Bytes::from(request.body.clone())))
        .map_err(|e| Failure::Garbage(format!("cannot build the request: {e}")))?;
    let answer = sender.send_request(built).await;
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            let _ = driver.await;
            return Err(if e.is_parse() || e.is_parse_status() {
                Failure::Garbage(e.to_string())
            } else {
                Failure::Broken
            });
        }
    };
    let status = answer.status().as_u16();
    // Only the first BODY_MAX bytes are kept: a service that answers 50 MB must not take the
    // probe's memory with it. The rest is not read (the connection is dropped).
    let mut body_stream = answer.into_body();
    let mut body = Vec::new();
    while let Some(frame) = body_stream.frame().await {
        let frame = frame.map_err(|_| Failure::Broken)?;
        if let Ok(data) = frame.into_data() {
            let room = BODY_MAX.saturating_sub(body.len());
            body.extend_from_slice(&data[..data.len().min(room)]);
            if data.len() > room {
                break;
            }
        }
    }
    driver.abort();
    Ok((status, body))
}

/// The most of an answer's body the probe keeps (a body is an order id or an error code).
pub const BODY_MAX: usize = 64 * 1024;

/// Checks the request's shape before anything starts: a method, a path and a header name
/// HTTP accepts (else the service would be blamed for them).
pub fn check_shape(method: &str, path: &str, header: &str) -> Result<(), String> {
    hyper::Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("--method {method:?} is not an HTTP method (POST, PUT, ...)"))?;
    if !path.starts_with('/') || path.parse::<hyper::Uri>().is_err() {
        return Err(format!(
            "--path {path:?} is not a request path: it starts with / and holds no spaces"
        ));
    }
    hyper::header::HeaderName::from_bytes(header.as_bytes())
        .map_err(|_| format!("--header {header:?} is not a header name (Idempotency-Key, ...)"))?;
    Ok(())
}

/// A JSON answer of `status`.
pub fn json(status: u16, body: &serde_json::Value) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
