//! Idempotency **middleware**: a wrapper that makes any design idempotent by key, in the
//! spirit of the idempotency middleware of API frameworks and the AWS Lambda Powertools
//! idempotency utility. It claims the key as *in progress* with a lease, runs the wrapped
//! design, and stores its response as *completed*, replayed to every retry.
//!
//! Options (`[design.middleware]` in a scenario):
//!
//! | option | default | meaning |
//! |---|---|---|
//! | `inner` | `"naive"` | the design it wraps |
//! | `lease` | `"100ms"` | how long an in-progress claim holds; after it a retry runs the design again |
//! | `ttl` | the scenario's `server.key_ttl` | how long records live |
//! | `fingerprint` | `true` | answer 422 when a key comes back with another payload |
//! | `store` | `"success"` | which responses are stored: `"success"` (an error deletes the record, so the next attempt runs again) or `"all"` (errors are replayed too) |

use std::sync::Arc;

use super::api::{Cx, Request, Response, Value};
use super::keys::claim;
use super::{
    Design, HandlerFuture, OptionKind, OptionSpec, Options, bool_option, duration_option,
    text_option,
};
use crate::time::SimDuration;

/// One line for `idemlab list`.
pub const MIDDLEWARE: &str = "wraps a design (option inner, default naive): claim with a lease, run it, store the response; a lease that expires mid-run runs it twice";

/// The options the middleware takes.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "inner",
        kind: OptionKind::Design,
        help: "the design it wraps (default naive)",
    },
    OptionSpec {
        name: "lease",
        kind: OptionKind::Duration,
        help: "how long an in-progress claim holds (default 100ms)",
    },
    OptionSpec {
        name: "ttl",
        kind: OptionKind::Duration,
        help: "how long records live (default: the scenario's server.key_ttl)",
    },
    OptionSpec {
        name: "fingerprint",
        kind: OptionKind::Bool,
        help: "422 when a key comes back with another payload (default true)",
    },
    OptionSpec {
        name: "store",
        kind: OptionKind::Choice(&["success", "all"]),
        help: "which responses are stored and replayed (default success)",
    },
];

/// Catalog row 10, the **in-progress lease** (Powertools style).
///
/// **Breaks under:** a crash (or a timeout, which is not an exception) after the wrapped
/// design's effect and before `completed` is written: the record stays in progress until its
/// lease expires, then the next retry runs the design **again**: the double execution
/// Powertools' users report. A retry after the record expired. Without `fingerprint`, a key
/// reused with another payload replays the old result.
///
/// **Instead:** make the wrapped design's own effects idempotent (a provider key, recovery
/// points), and choose a lease longer than the slowest legitimate execution.
pub struct Middleware {
    inner: Arc<dyn Design>,
    lease: SimDuration,
    ttl: Option<SimDuration>,
    fingerprint: bool,
    store_all: bool,
}

impl Middleware {
    /// Builds the middleware from its options (validated by the scenario reader).
    pub fn new(options: &Options) -> Self {
        let inner_name = text_option(options, "inner", "naive");
        let inner: Arc<dyn Design> = match super::lookup(inner_name) {
            Ok(d) => Arc::from(d),
            // The scenario reader only accepts known names; fall back rather than panic.
            Err(_) => Arc::new(super::design_fn(
                "naive",
                super::http::NAIVE,
                super::http::naive,
            )),
        };
        Middleware {
            inner,
            lease: duration_option(options, "lease").unwrap_or(SimDuration::from_millis(100)),
            ttl: duration_option(options, "ttl"),
            fingerprint: bool_option(options, "fingerprint", true),
            store_all: text_option(options, "store", "success") == "all",
        }
    }
}

impl Design for Middleware {
    fn name(&self) -> &str {
        "middleware"
    }
    fn summary(&self) -> &str {
        MIDDLEWARE
    }
    fn handle(&self, cx: Cx, req: Request) -> HandlerFuture {
        let inner = Arc::clone(&self.inner);
        let (lease, own_ttl, check, store_all) =
            (self.lease, self.ttl, self.fingerprint, self.store_all);
        Box::pin(async move {
            let Some(key) = req.idempotency_key() else {
                return Response::key_missing();
            };
            let idem = format!("idem:{key}");
            let ttl = own_ttl.or(cx.key_ttl());
            // Without payload validation every payload has the same fingerprint.
            let fingerprint = if check { req.fingerprint() } else { 0 };
            if let Some(early) = claim(&cx, &idem, fingerprint, lease, ttl).await {
                return early;
            }
            let response = inner.handle(cx.clone(), req).await;
            if response.is_success() || store_all {
                let done = Value::Completed {
                    fingerprint,
                    response,
                };
                cx.db().put_for(&idem, done, ttl).await;
            } else {
                cx.db().delete(&idem).await;
            }
            response
        })
    }
}
