//! `shop`: a payments service with four idempotency designs over a real PostgreSQL, written the
//! way a team writes one (axum, tokio-postgres, one transaction at READ COMMITTED), for
//! `idemlab probe` to test against. The same four designs are in idemlab's catalog; the probe's
//! matrix shows that the live service breaks where the simulated one does.
//!
//! ```text
//! shop --design key-in-transaction --port 0 --database-url "host=/tmp/pg port=5433 user=postgres" \
//!      --provider-url http://127.0.0.1:9000
//! ```
//!
//! `POST /payments` with an `Idempotency-Key` header and `{"amount": 100, "reference": "..."}`;
//! the service charges the payment provider at `--provider-url` (`POST /charge` with the
//! amount, the reference and, for the designs that have one, a provider key) and answers
//! `201 {"order": N, "receipt": M}`. `GET /effects` lists the orders it created (the effects it
//! keeps in its own database), for `idemlab probe --effects`. It prints `listening on ADDR` once
//! it accepts connections.
//!
//! - `naive`: no key; creates an order and charges, every time.
//! - `process-payment`: the seed's code: look the key up, charge, store the key and the answer.
//!   Two attempts in flight both miss the key; a crash after the charge loses the key.
//! - `check-then-act`: in one transaction, look the key up (no lock), charge with a provider key,
//!   create the order, record the key. The charge is deduplicated by the provider, the order is
//!   not: two attempts in flight create two orders.
//! - `key-in-transaction`: claim the key with `INSERT … ON CONFLICT DO NOTHING` in the
//!   transaction that creates the order and stores the answer (a concurrent claim waits 1ms for
//!   the row lock, then answers 409), charge with a provider key, 422 on a reused key with another
//!   payload.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio_postgres::{Client, NoTls};

/// The designs this service can run.
const DESIGNS: [&str; 4] = [
    "naive",
    "process-payment",
    "check-then-act",
    "key-in-transaction",
];

/// Connections in the pool.
const POOL: usize = 4;

struct Config {
    design: String,
    port: u16,
    database_url: String,
    provider_url: String,
    key_ttl_ms: Option<u64>,
}

fn config() -> Result<Config, String> {
    let mut args = std::env::args().skip(1);
    let mut design = std::env::var("SHOP_DESIGN").ok();
    let mut port = std::env::var("PORT").ok();
    let mut database_url = std::env::var("DATABASE_URL").ok();
    let mut provider_url = std::env::var("PROVIDER_URL").ok();
    let mut key_ttl_ms = std::env::var("KEY_TTL_MS").ok();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--design" => design = Some(value),
            "--port" => port = Some(value),
            "--database-url" => database_url = Some(value),
            "--provider-url" => provider_url = Some(value),
            "--key-ttl-ms" => key_ttl_ms = Some(value),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let design = design.ok_or(
        "--design is required: one of naive, process-payment, check-then-act, key-in-transaction",
    )?;
    if !DESIGNS.contains(&design.as_str()) {
        return Err(format!(
            "unknown design {design}; designs: {}",
            DESIGNS.join(", ")
        ));
    }
    Ok(Config {
        design,
        port: port
            .as_deref()
            .unwrap_or("0")
            .parse()
            .map_err(|_| "--port is a number".to_string())?,
        database_url: database_url.ok_or("--database-url (or DATABASE_URL) is required")?,
        provider_url: provider_url.ok_or("--provider-url (or PROVIDER_URL) is required")?,
        key_ttl_ms: key_ttl_ms
            .map(|t| {
                t.parse()
                    .map_err(|_| "--key-ttl-ms is a number".to_string())
            })
            .transpose()?,
    })
}

struct Shop {
    design: String,
    /// A small pool: each request takes a connection of its own, so that two requests run
    /// their transactions side by side, as they do behind any real pool.
    pool: Vec<tokio::sync::Mutex<Client>>,
    /// A connection for single statements outside a transaction (tokio-postgres pipelines them).
    reader: Client,
    provider: String,
    /// How long a key lives, as a PostgreSQL interval; `None`: for ever.
    ttl: Option<String>,
}

#[derive(Deserialize)]
struct Payment {
    amount: i64,
    reference: String,
}

#[derive(Serialize)]
struct Effect {
    reference: String,
    kind: &'static str,
    amount: i64,
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

fn error(status: StatusCode, code: &str) -> Response {
    answer(status, serde_json::json!({ "error": code }))
}

fn internal(e: impl std::fmt::Display) -> Response {
    eprintln!("shop: {e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal")
}

impl Shop {
    /// A free connection of the pool, or the first one once it is free.
    async fn connection(&self) -> tokio::sync::MutexGuard<'_, Client> {
        for c in &self.pool {
            if let Ok(guard) = c.try_lock() {
                return guard;
            }
        }
        self.pool[0].lock().await
    }
}

/// The provider's answer to a charge.
enum Charge {
    Receipt(i64),
    Unavailable,
}

/// `POST {provider}/charge`: over a plain HTTP/1.1 connection, as a team's small client does.
async fn charge(
    provider: &str,
    amount: i64,
    reference: &str,
    key: Option<&str>,
) -> Result<Charge, String> {
    let body =
        serde_json::json!({ "amount": amount, "reference": reference, "key": key }).to_string();
    let url: hyper::Uri = format!("{provider}/charge")
        .parse()
        .map_err(|e| format!("provider url: {e}"))?;
    let host = url.host().unwrap_or("127.0.0.1").to_string();
    let port = url.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("provider: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("provider: {e}"))?;
    tokio::spawn(conn);
    let request = hyper::Request::post(url.path())
        .header("host", format!("{host}:{port}"))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .map_err(|e| format!("provider: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("provider: {e}"))?;
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        return Ok(Charge::Unavailable);
    }
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .map_err(|e| format!("provider: {e}"))?
        .to_bytes();
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("provider answer: {e}"))?;
    value["receipt"]
        .as_i64()
        .map(Charge::Receipt)
        .ok_or_else(|| "provider answer has no receipt".to_string())
}

fn key_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// What a payload is, for a key reused with another one (422).
fn fingerprint(p: &Payment) -> String {
    format!("{}|{}", p.amount, p.reference)
}

async fn pay(
    State(shop): State<Arc<Shop>>,
    headers: HeaderMap,
    Json(p): Json<Payment>,
) -> Response {
    let key = key_of(&headers);
    let result = match shop.design.as_str() {
        "naive" => naive(&shop, &p).await,
        _ => match key {
            None => return error(StatusCode::BAD_REQUEST, "key-missing"),
            Some(key) => match shop.design.as_str() {
                "process-payment" => process_payment(&shop, &key, &p).await,
                "check-then-act" => check_then_act(&shop, &key, &p).await,
                _ => key_in_transaction(&shop, &key, &p).await,
            },
        },
    };
    result.unwrap_or_else(internal)
}

/// An order and a charge, every time.
async fn naive(shop: &Shop, p: &Payment) -> Result<Response, String> {
    let order: i64 = {
        let db = shop.connection().await;
        db.query_one(
            "INSERT INTO orders (reference, amount) VALUES ($1, $2) RETURNING id",
            &[&p.reference, &p.amount],
        )
        .await
        .map_err(|e| e.to_string())?
        .get(0)
    };
    match charge(&shop.provider, p.amount, &p.reference, None).await? {
        Charge::Receipt(r) => Ok(answer(
            StatusCode::CREATED,
            serde_json::json!({ "order": order, "receipt": r }),
        )),
        Charge::Unavailable => Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable")),
    }
}

/// The stored answer under `key`, if it is there and has not expired.
async fn stored(
    shop: &Shop,
    db: &impl tokio_postgres::GenericClient,
    key: &str,
) -> Result<Option<(i32, String, String)>, String> {
    let fresh = match &shop.ttl {
        Some(ttl) => format!("AND created_at > now() - interval '{ttl}'"),
        None => String::new(),
    };
    let row = db
        .query_opt(
            &format!(
                "SELECT status, body, fingerprint FROM idempotency_keys WHERE key = $1 AND status IS NOT NULL {fresh}"
            ),
            &[&key],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
}

fn replay(status: i32, body: &str) -> Response {
    let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    answer(status, body)
}

/// The seed's `process_payment`: look the key up, charge, store the key and the answer.
async fn process_payment(shop: &Shop, key: &str, p: &Payment) -> Result<Response, String> {
    if let Some((status, body, _)) = stored(shop, &shop.reader, key).await? {
        return Ok(replay(status, &body));
    }
    let receipt = match charge(&shop.provider, p.amount, &p.reference, None).await? {
        Charge::Receipt(r) => r,
        Charge::Unavailable => return Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable")),
    };
    let body = serde_json::json!({ "receipt": receipt });
    let db = shop.connection().await;
    db.execute(
        "INSERT INTO idempotency_keys (key, fingerprint, status, body) VALUES ($1, $2, 201, $3)
         ON CONFLICT (key) DO UPDATE SET fingerprint = $2, status = 201, body = $3, created_at = now()",
        &[&key, &fingerprint(p), &body.to_string()],
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(answer(StatusCode::CREATED, body))
}

/// Charges with `key` as the provider key and creates the order in `tx`: the answer's body,
/// or the answer to give when the provider is unavailable.
async fn charge_and_order(
    shop: &Shop,
    tx: &tokio_postgres::Transaction<'_>,
    p: &Payment,
    key: &str,
) -> Result<Result<serde_json::Value, Response>, String> {
    let receipt = match charge(&shop.provider, p.amount, &p.reference, Some(key)).await? {
        Charge::Receipt(r) => r,
        Charge::Unavailable => {
            return Ok(Err(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable")));
        }
    };
    let order: i64 = tx
        .query_one(
            "INSERT INTO orders (reference, amount, receipt) VALUES ($1, $2, $3) RETURNING id",
            &[&p.reference, &p.amount, &receipt],
        )
        .await
        .map_err(|e| e.to_string())?
        .get(0);
    Ok(Ok(
        serde_json::json!({ "order": order, "receipt": receipt }),
    ))
}

/// Look up, charge (with a provider key), create the order and record the key, in one
/// transaction at READ COMMITTED, the lookup without a lock.
async fn check_then_act(shop: &Shop, key: &str, p: &Payment) -> Result<Response, String> {
    let mut db = shop.connection().await;
    let tx = db.transaction().await.map_err(|e| e.to_string())?;
    if let Some((status, body, _)) = stored(shop, &tx, key).await? {
        tx.commit().await.map_err(|e| e.to_string())?;
        return Ok(replay(status, &body));
    }
    // No lock on the key: a second attempt in flight, on its own connection, misses it too.
    let body = match charge_and_order(shop, &tx, p, key).await? {
        Ok(body) => body,
        Err(unavailable) => return Ok(unavailable),
    };
    tx.execute(
        "INSERT INTO idempotency_keys (key, fingerprint, status, body) VALUES ($1, $2, 201, $3)
         ON CONFLICT (key) DO UPDATE SET fingerprint = $2, status = 201, body = $3, created_at = now()",
        &[&key, &fingerprint(p), &body.to_string()],
    )
    .await
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(answer(StatusCode::CREATED, body))
}

/// Claim the key, charge with a provider key, create the order and store the answer, in one
/// transaction; a concurrent claim of the same key gets 409, a reused key with another payload
/// 422.
async fn key_in_transaction(shop: &Shop, key: &str, p: &Payment) -> Result<Response, String> {
    let mut db = shop.connection().await;
    let tx = db.transaction().await.map_err(|e| e.to_string())?;
    tx.batch_execute("SET LOCAL lock_timeout = '1ms'")
        .await
        .map_err(|e| e.to_string())?;
    if let Some(ttl) = &shop.ttl {
        // A reaper of expired keys, run where they are met.
        tx.execute(
            &format!(
                "DELETE FROM idempotency_keys WHERE key = $1 AND created_at <= now() - interval '{ttl}'"
            ),
            &[&key],
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    let claimed = tx
        .query_opt(
            "INSERT INTO idempotency_keys (key, fingerprint) VALUES ($1, $2)
             ON CONFLICT (key) DO NOTHING RETURNING key",
            &[&key, &fingerprint(p)],
        )
        .await;
    let claimed = match claimed {
        Ok(row) => row.is_some(),
        // 55P03 lock_not_available: another transaction holds the claim.
        Err(e) if e.code().is_some_and(|c| c.code() == "55P03") => {
            return Ok(error(StatusCode::CONFLICT, "key-in-use"));
        }
        Err(e) => return Err(e.to_string()),
    };
    if !claimed {
        let row = tx
            .query_one(
                "SELECT fingerprint, status, body FROM idempotency_keys WHERE key = $1",
                &[&key],
            )
            .await
            .map_err(|e| e.to_string())?;
        let (f, status, body): (String, Option<i32>, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        tx.commit().await.map_err(|e| e.to_string())?;
        if f != fingerprint(p) {
            return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, "key-mismatch"));
        }
        return Ok(match (status, body) {
            (Some(s), Some(b)) => replay(s, &b),
            _ => error(StatusCode::CONFLICT, "key-in-use"),
        });
    }
    let body = match charge_and_order(shop, &tx, p, key).await? {
        Ok(body) => body,
        Err(unavailable) => return Ok(unavailable),
    };
    tx.execute(
        "UPDATE idempotency_keys SET status = 201, body = $2 WHERE key = $1",
        &[&key, &body.to_string()],
    )
    .await
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(answer(StatusCode::CREATED, body))
}

/// The orders, for a probe that counts the service's own effects.
async fn effects(State(shop): State<Arc<Shop>>) -> Response {
    let rows = match shop
        .reader
        .query("SELECT reference, amount FROM orders ORDER BY id", &[])
        .await
    {
        Ok(rows) => rows,
        Err(e) => return internal(e),
    };
    let list: Vec<Effect> = rows
        .iter()
        .map(|r| Effect {
            reference: r.get(0),
            kind: "order",
            amount: r.get(1),
        })
        .collect();
    Json(list).into_response()
}

async fn connect(url: &str) -> Result<Client, String> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| format!("cannot connect to PostgreSQL ({url}): {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("shop: database connection: {e}");
        }
    });
    Ok(client)
}

async fn serve(config: Config) -> Result<(), String> {
    let db = connect(&config.database_url).await?;
    db.batch_execute(
        "CREATE TABLE IF NOT EXISTS idempotency_keys (
             key TEXT PRIMARY KEY,
             fingerprint TEXT NOT NULL,
             status INT,
             body TEXT,
             created_at TIMESTAMPTZ NOT NULL DEFAULT now());
         CREATE TABLE IF NOT EXISTS orders (
             id BIGSERIAL PRIMARY KEY,
             reference TEXT NOT NULL,
             amount BIGINT NOT NULL,
             receipt BIGINT);",
    )
    .await
    .map_err(|e| e.to_string())?;
    let reader = connect(&config.database_url).await?;
    let mut pool = vec![tokio::sync::Mutex::new(db)];
    for _ in 1..POOL {
        pool.push(tokio::sync::Mutex::new(
            connect(&config.database_url).await?,
        ));
    }
    let shop = Arc::new(Shop {
        design: config.design,
        pool,
        reader,
        provider: config.provider_url.trim_end_matches('/').to_string(),
        ttl: config.key_ttl_ms.map(|ms| format!("{ms} milliseconds")),
    });
    let app = axum::Router::new()
        .route("/payments", post(pay))
        .route("/effects", get(effects))
        .with_state(shop);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|e| format!("cannot listen on port {}: {e}", config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {addr}");
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

fn main() -> std::process::ExitCode {
    let config = match config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("shop: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("shop: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shop: {e}");
            // Give the connection task a moment to print why it failed.
            std::thread::sleep(Duration::from_millis(10));
            std::process::ExitCode::from(2)
        }
    }
}
