//! The fake payment provider's server: idemlab's own `POST /charge` here and, through
//! `stripe`, Stripe's API, both charging through `charges::make_charge`.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use super::http::{self};

use super::charges::{PROVIDER_BODY_MAX, Refusal, clip, make_charge, op_of_reference, reject};
use super::live::*;

/// The fake payment provider: `POST /charge` with `amount`, the reference field and an
/// optional provider `key`. Charges, answers a receipt, and applies the plan's faults on the
/// provider: a stalled call (`slow … charge`), a 503 (`unavailable`), a crash of the service
/// just before or after the charge.
pub(crate) async fn provider(shared: Arc<Shared>, listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let task = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let task = Arc::clone(&task);
                async move {
                    // Stripe's API (`/v1/...`, what the official SDKs call) or idemlab's own
                    // (`POST /charge`): the same provider behind both.
                    let response = if request.uri().path().starts_with("/v1/") {
                        super::stripe::handle(task, request).await
                    } else {
                        charge(task, request).await
                    };
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn charge(
    shared: Arc<Shared>,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let limited = http_body_util::Limited::new(request.into_body(), PROVIDER_BODY_MAX);
    let Ok(bytes) = limited.collect().await.map(|b| b.to_bytes()) else {
        return reject(
            &shared,
            format!("a call's body is unreadable or larger than {PROVIDER_BODY_MAX} bytes"),
        );
    };
    let Ok(call) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return reject(&shared, "a call's body is not JSON".to_string());
    };
    let field = shared.config.reference_field.as_str();
    let Some(amount) = call.get("amount").and_then(serde_json::Value::as_u64) else {
        return reject(
            &shared,
            format!(
                "`amount` is missing or not a whole number of cents (got {})",
                call.get("amount")
                    .map_or("nothing".to_string(), |a| clip(&a.to_string()))
            ),
        );
    };
    let Some(reference) = call.get(field).and_then(serde_json::Value::as_str) else {
        return reject(
            &shared,
            format!("the call has no `{field}` string (--reference-field names it)"),
        );
    };
    let reference = reference.to_string();
    let provider_key = call
        .get("key")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let Some(op) = op_of_reference(&shared, &reference) else {
        return reject(
            &shared,
            format!("no operation has the reference {:?}", clip(&reference)),
        );
    };
    match make_charge(&shared, op, amount, provider_key.as_deref()).await {
        Ok(receipt) => http::json(200, &serde_json::json!({ "receipt": receipt })),
        Err(Refusal::Rejected(why)) => reject(&shared, why),
        Err(Refusal::Crashed) => {
            http::json(503, &serde_json::json!({ "error": "the service crashed" }))
        }
        Err(Refusal::Unavailable) => {
            http::json(503, &serde_json::json!({ "error": "unavailable" }))
        }
    }
}
