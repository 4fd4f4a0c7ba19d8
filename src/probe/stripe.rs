//! The provider's Stripe-shaped face: the subset of Stripe's API that a service using the
//! official SDKs calls when pointed at a local base URL (stripe-python's `stripe.api_base`,
//! stripe-node's `host`/`port`/`protocol`), so that such a service is probed unchanged.
//!
//! - `POST /v1/payment_intents` (form-encoded; with `confirm=true` it charges at once),
//!   `POST /v1/payment_intents/{id}/confirm`, `GET /v1/payment_intents/{id}`;
//! - `POST /v1/charges`; `POST /v1/refunds` (recorded and answered; a refund is not an effect
//!   the oracle counts, so a design that charges twice and refunds once still shows the
//!   duplicate charge);
//! - JSON objects with `id`, `object`, `amount`, `currency`, `status` and `metadata`, and
//!   Stripe's error shape (`{"error": {"type", "code", "message"}}`);
//! - `Idempotency-Key` honoured as Stripe does: the first response to a key is stored and
//!   replayed to a retry with the same parameters (`Idempotent-Replayed: true`); other
//!   parameters get 400 `idempotency_error`; a retry while the first is still running gets 409
//!   `idempotency_key_in_use`; a call the provider refuses as invalid stores nothing.
//!
//! A charge is attributed to its operation by the metadata field `--reference-field` names
//! (`metadata[reference]` by default), and made through the same core as idemlab's own
//! `POST /charge` (`charges::make_charge`): the plan's stalls, 503s and crashes apply alike.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use super::charges::{self, Refusal};
use super::http;
use super::live::Shared;
use super::stripe_state::Key;

/// Answers one call of Stripe's API.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let key = request
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let limited = http_body_util::Limited::new(request.into_body(), charges::PROVIDER_BODY_MAX);
    let Ok(bytes) = limited.collect().await.map(|b| b.to_bytes()) else {
        return error(400, "invalid_request_error", None, "unreadable body");
    };
    let form = parse_form(&String::from_utf8_lossy(&bytes));
    if method == hyper::Method::GET {
        return match path.strip_prefix("/v1/payment_intents/") {
            Some(id) => match shared.stripe().objects.get(id) {
                Some(object) => http::json(200, object),
                None => {
                    let (status, body) = missing(id);
                    http::json(status, &body)
                }
            },
            None => error(404, "invalid_request_error", None, "unknown path"),
        };
    }
    if method != hyper::Method::POST {
        return error(405, "invalid_request_error", None, "only GET and POST");
    }
    // The key's parameters: the path and the form, in a fixed order.
    let params = format!("{path}?{}", canonical(&form));
    if let Some(key) = &key {
        let mut state = shared.stripe();
        match state.keys.get(key).cloned() {
            Some(Key::InProgress) => {
                return error(
                    409,
                    "idempotency_error",
                    Some("idempotency_key_in_use"),
                    "There is currently another in-progress request using this Idempotent Key.",
                );
            }
            Some(Key::Done { params: p, .. }) if p != params => {
                return error(
                    400,
                    "idempotency_error",
                    None,
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                );
            }
            Some(Key::Done { status, body, .. }) => {
                let mut replay = http::json(status, &body);
                replay.headers_mut().insert(
                    "idempotent-replayed",
                    hyper::header::HeaderValue::from_static("true"),
                );
                return replay;
            }
            None => {
                state.keys.insert(key.clone(), Key::InProgress);
            }
        }
    }
    let (status, body) = route(&shared, &path, &form).await;
    if let Some(key) = key {
        let mut state = shared.stripe();
        // Validation failures store nothing (a corrected retry may use the key); every answer
        // of an executed request is stored and replayed, 5xx included, as Stripe does.
        if status == 400 || status == 404 {
            state.keys.remove(&key);
        } else {
            state.keys.insert(
                key,
                Key::Done {
                    params,
                    status,
                    body: body.clone(),
                },
            );
        }
    }
    http::json(status, &body)
}

/// Runs one POST: the status and body of its answer.
async fn route(
    shared: &Arc<Shared>,
    path: &str,
    form: &BTreeMap<String, String>,
) -> (u16, serde_json::Value) {
    let parts: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    match parts.as_slice() {
        ["payment_intents"] => {
            let confirm = form.get("confirm").is_some_and(|v| v == "true");
            let intent = match new_object(shared, "pi", "payment_intent", form) {
                Ok(intent) => intent,
                Err(e) => return e,
            };
            if confirm {
                pay(shared, intent).await
            } else {
                (200, intent)
            }
        }
        ["payment_intents", id, "confirm"] => {
            let Some(intent) = shared.stripe().objects.get(*id).cloned() else {
                return missing(id);
            };
            if intent["status"] == "succeeded" {
                return stripe_error(
                    400,
                    "invalid_request_error",
                    Some("payment_intent_unexpected_state"),
                    "This PaymentIntent has already succeeded.",
                );
            }
            pay(shared, intent).await
        }
        ["charges"] => match new_object(shared, "ch", "charge", form) {
            Ok(charge) => pay(shared, charge).await,
            Err(e) => e,
        },
        ["refunds"] => {
            let of = form
                .get("payment_intent")
                .or_else(|| form.get("charge"))
                .cloned()
                .unwrap_or_default();
            let Some(paid) = shared.stripe().objects.get(&of).cloned() else {
                return missing(&of);
            };
            let mut state = shared.stripe();
            state.next += 1;
            let id = format!("re_{}", state.next);
            let refund = serde_json::json!({
                "id": id,
                "object": "refund",
                "amount": form.get("amount").and_then(|a| a.parse::<u64>().ok()).unwrap_or_else(|| paid["amount"].as_u64().unwrap_or(0)),
                "currency": paid["currency"],
                "status": "succeeded",
                "payment_intent": if paid["object"] == "payment_intent" { serde_json::Value::String(of.clone()) } else { serde_json::Value::Null },
                "charge": if paid["object"] == "charge" { serde_json::Value::String(of) } else { serde_json::Value::Null },
            });
            state.objects.insert(id, refund.clone());
            (200, refund)
        }
        _ => stripe_error(
            404,
            "invalid_request_error",
            None,
            "Unrecognized request URL.",
        ),
    }
}

/// A new payment intent or charge from the form (`amount`, `currency`, `metadata[...]`), or
/// the error that refuses it: an amount that is not a whole number of cents, or no operation
/// named by the metadata's reference (counted as refused calls, like idemlab's own API's).
fn new_object(
    shared: &Arc<Shared>,
    prefix: &str,
    object: &str,
    form: &BTreeMap<String, String>,
) -> Result<serde_json::Value, (u16, serde_json::Value)> {
    let refuse = |why: String| {
        charges::reject(shared, why.clone());
        stripe_error(
            400,
            "invalid_request_error",
            Some("parameter_invalid"),
            &why,
        )
    };
    let amount = form.get("amount").map(String::as_str).unwrap_or("");
    let Ok(amount) = amount.parse::<u64>() else {
        return Err(refuse(format!(
            "`amount` is missing or not a whole number of cents (got {:?})",
            charges::clip(amount)
        )));
    };
    let field = shared.config.reference_field.as_str();
    let reference = form
        .get(&format!("metadata[{field}]"))
        .cloned()
        .unwrap_or_default();
    if charges::op_of_reference(shared, &reference).is_none() {
        return Err(refuse(format!(
            "no operation has the reference {:?} (metadata[{field}], named by --reference-field)",
            charges::clip(&reference)
        )));
    }
    let metadata: serde_json::Map<String, serde_json::Value> = form
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((name.to_string(), serde_json::Value::String(v.clone())))
        })
        .collect();
    let mut state = shared.stripe();
    state.next += 1;
    let id = format!("{prefix}_{}", state.next);
    let value = serde_json::json!({
        "id": id,
        "object": object,
        "amount": amount,
        "currency": form.get("currency").cloned().unwrap_or_else(|| "usd".to_string()),
        "status": "requires_confirmation",
        "metadata": metadata,
    });
    state.objects.insert(id, value.clone());
    Ok(value)
}

/// Charges for a payment intent or a charge: the provider's one effect, through the same core
/// as idemlab's own API, with the plan's faults.
async fn pay(shared: &Arc<Shared>, mut object: serde_json::Value) -> (u16, serde_json::Value) {
    let field = shared.config.reference_field.as_str();
    let reference = object["metadata"][field]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let amount = object["amount"].as_u64().unwrap_or(0);
    let Some(op) = charges::op_of_reference(shared, &reference) else {
        return stripe_error(
            400,
            "invalid_request_error",
            None,
            "no operation has this reference",
        );
    };
    match charges::make_charge(shared, op, amount, None).await {
        Ok(receipt) => {
            object["status"] = serde_json::Value::String("succeeded".to_string());
            if object["object"] == "charge" {
                object["paid"] = serde_json::Value::Bool(true);
            } else {
                object["latest_charge"] = serde_json::Value::String(format!("ch_r{receipt}"));
            }
            let id = object["id"].as_str().unwrap_or_default().to_string();
            shared.stripe().objects.insert(id, object.clone());
            (200, object)
        }
        Err(Refusal::Rejected(why)) => {
            charges::reject(shared, why.clone());
            stripe_error(400, "invalid_request_error", None, &why)
        }
        Err(Refusal::Crashed) => stripe_error(503, "api_error", None, "the service crashed"),
        Err(Refusal::Unavailable) => stripe_error(
            503,
            "api_error",
            None,
            "The service is temporarily unavailable.",
        ),
    }
}

fn missing(id: &str) -> (u16, serde_json::Value) {
    stripe_error(
        404,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such object: '{}'", charges::clip(id)),
    )
}

/// Stripe's error shape, as a status and a body.
fn stripe_error(
    status: u16,
    kind: &str,
    code: Option<&str>,
    message: &str,
) -> (u16, serde_json::Value) {
    let mut error = serde_json::json!({ "type": kind, "message": message });
    if let Some(code) = code {
        error["code"] = serde_json::Value::String(code.to_string());
    }
    (status, serde_json::json!({ "error": error }))
}

fn error(
    status: u16,
    kind: &str,
    code: Option<&str>,
    message: &str,
) -> hyper::Response<Full<Bytes>> {
    let (status, body) = stripe_error(status, kind, code, message);
    http::json(status, &body)
}

/// `application/x-www-form-urlencoded` into names and values (`+` a space, `%XX` a byte).
pub(crate) fn parse_form(text: &str) -> BTreeMap<String, String> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The form in a fixed order, for comparing a key's parameters.
fn canonical(form: &BTreeMap<String, String>) -> String {
    form.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::parse_form;

    #[test]
    fn a_form_decodes_as_stripe_sends_it() {
        let form =
            parse_form("amount=100&metadata%5Breference%5D=r1-op2&note=a+b%21&empty=&bad=%zz");
        assert_eq!(form["amount"], "100");
        assert_eq!(form["metadata[reference]"], "r1-op2");
        assert_eq!(form["note"], "a b!");
        assert_eq!(form["empty"], "");
        assert_eq!(form["bad"], "%zz");
    }
}
