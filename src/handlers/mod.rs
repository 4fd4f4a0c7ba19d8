//! The catalog of handler designs, and the [`Design`] trait users implement for their own.
//!
//! A design is an async function over a [`Cx`](api::Cx); [`design_fn`] turns one into a [`Design`]:
//!
//! ```
//! use idemlab::handlers::{design_fn, Design};
//! use idemlab::handlers::api::{Body, Cx, Request, Response};
//! async fn count(cx: Cx, req: Request) -> Response {
//!     let n = cx.db().incr("hits", req.amount() as i64).await;
//!     Response::ok(Body::Count(n))
//! }
//! let design = design_fn("my-counter", "adds the amount to a counter", count);
//! assert_eq!(design.name(), "my-counter");
//! ```
//!
//! The built-in designs live one family per file: [`http`] (resources: `POST`, `PUT`,
//! `DELETE`, `GET`, `PATCH`), [`database`] (SQL `SET` vs `count + 1`, conditional writes,
//! unique business keys), [`keys`] (idempotency keys, from the seed's `process_payment` to
//! recovery points), [`middleware`] (a wrapper that makes any design idempotent by key) and
//! [`consumers`] (message-queue consumers). [`entries`] lists them with the catalog row of the
//! domain reference each reproduces; [`lookup`] finds one by name and, for a name it does not
//! know, lists the known ones; [`build`] passes options to the designs that take them.

pub mod api;
pub mod consumers;
pub mod database;
pub mod http;
pub mod keys;
pub mod middleware;

pub use crate::settings::{OptionKind, OptionSpec, OptionValue, Options, UnknownDesign};
pub(crate) use crate::settings::{bool_option, duration_option, text_option};
pub use crate::world::design::{Design, FnDesign, HandlerFuture, TaskStore, design_fn};

use crate::fault::FaultClass;

/// The family a design belongs to: the file it lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// HTTP resources ([`http`]).
    Http,
    /// Database operations ([`database`]).
    Database,
    /// Idempotency keys ([`keys`]).
    Keys,
    /// Idempotency middleware ([`middleware`]).
    Middleware,
    /// Message-queue consumers ([`consumers`]).
    Consumers,
}

impl Family {
    /// The family's name, as `idemlab list` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Family::Http => "http",
            Family::Database => "database",
            Family::Keys => "keys",
            Family::Middleware => "middleware",
            Family::Consumers => "consumers",
        }
    }
}

/// One design of the catalog: its name, what it reproduces, and how to build it.
pub struct Entry {
    /// The stable kebab-case name used in scenario files, reports and the book.
    pub name: &'static str,
    /// The file it lives in.
    pub family: Family,
    /// The row of the catalog table in the domain reference it reproduces, if any.
    pub row: Option<u8>,
    /// One line: what it does and the contract it offers.
    pub summary: &'static str,
    /// True for a message-queue consumer: the matrix runs it behind a broker.
    pub consumer: bool,
    /// Fault classes that do not apply to it (it has no key that could expire or be reused).
    pub not_applicable: &'static [FaultClass],
    /// The options it takes under `[design.NAME]`.
    pub options: &'static [OptionSpec],
    build: fn(&Options) -> Box<dyn Design>,
}

impl Entry {
    /// Builds the design with `options` (already validated against [`Entry::options`]).
    pub fn build(&self, options: &Options) -> Box<dyn Design> {
        (self.build)(options)
    }

    /// The option called `name`, if the design takes it.
    pub fn option(&self, name: &str) -> Option<&'static OptionSpec> {
        self.options.iter().find(|o| o.name == name)
    }
}

macro_rules! plain {
    ($name:literal, $summary:expr, $f:path) => {
        |_: &Options| -> Box<dyn Design> { Box::new(design_fn($name, $summary, $f)) }
    };
}

use FaultClass::{PayloadMismatch as VII, RetryAfterExpiry as VI};

static ENTRIES: &[Entry] = &[
    Entry {
        name: "naive",
        family: Family::Http,
        row: Some(1),
        summary: http::NAIVE,
        consumer: false,
        not_applicable: &[VI, VII],
        options: &[],
        build: plain!("naive", http::NAIVE, http::naive),
    },
    Entry {
        name: "put",
        family: Family::Http,
        row: Some(2),
        summary: http::PUT,
        consumer: false,
        not_applicable: &[VII],
        options: &[],
        build: plain!("put", http::PUT, http::put),
    },
    Entry {
        name: "conditional-write",
        family: Family::Database,
        row: Some(3),
        summary: database::CONDITIONAL_WRITE,
        consumer: false,
        not_applicable: &[],
        options: &[],
        build: plain!(
            "conditional-write",
            database::CONDITIONAL_WRITE,
            database::conditional_write
        ),
    },
    Entry {
        name: "business-key",
        family: Family::Database,
        row: Some(4),
        summary: database::BUSINESS_KEY,
        consumer: false,
        not_applicable: &[],
        options: &[],
        build: plain!(
            "business-key",
            database::BUSINESS_KEY,
            database::business_key
        ),
    },
    Entry {
        name: "check-then-act",
        family: Family::Keys,
        row: Some(5),
        summary: keys::CHECK_THEN_ACT,
        consumer: false,
        not_applicable: &[],
        options: &[],
        build: plain!("check-then-act", keys::CHECK_THEN_ACT, keys::check_then_act),
    },
    Entry {
        name: "process-payment",
        family: Family::Keys,
        row: Some(6),
        summary: keys::PROCESS_PAYMENT,
        consumer: false,
        not_applicable: &[],
        options: &[],
        build: plain!(
            "process-payment",
            keys::PROCESS_PAYMENT,
            keys::process_payment
        ),
    },
    Entry {
        name: "atomic-key",
        family: Family::Keys,
        row: Some(7),
        summary: keys::ATOMIC_KEY,
        consumer: false,
        not_applicable: &[],
        options: &[],
        build: plain!("atomic-key", keys::ATOMIC_KEY, keys::atomic_key),
    },
    Entry {
        name: "key-in-transaction",
        family: Family::Keys,
        row: Some(8),
        summary: keys::KEY_IN_TRANSACTION,
        consumer: false,
        not_applicable: &[],
        options: &[],
        build: plain!(
            "key-in-transaction",
            keys::KEY_IN_TRANSACTION,
            keys::key_in_transaction
        ),
    },
    Entry {
        name: "recovery-points",
        family: Family::Keys,
        row: Some(9),
        summary: keys::RECOVERY_POINTS,
        consumer: false,
        not_applicable: &[],
        options: &[keys::LEASE_OPTION],
        build: |o| Box::new(keys::RecoveryPoints::new("recovery-points", o, false)),
    },
    Entry {
        name: "middleware",
        family: Family::Middleware,
        row: Some(10),
        summary: middleware::MIDDLEWARE,
        consumer: false,
        not_applicable: &[],
        options: middleware::OPTIONS,
        build: |o| Box::new(middleware::Middleware::new(o)),
    },
    Entry {
        name: "caches-errors",
        family: Family::Keys,
        row: Some(11),
        summary: keys::CACHES_ERRORS,
        consumer: false,
        not_applicable: &[],
        options: &[keys::LEASE_OPTION],
        build: |o| Box::new(keys::RecoveryPoints::new("caches-errors", o, true)),
    },
    Entry {
        name: "short-ttl",
        family: Family::Keys,
        row: Some(12),
        summary: keys::SHORT_TTL,
        consumer: false,
        not_applicable: &[],
        options: &[keys::TTL_OPTION],
        build: |o| Box::new(keys::ShortTtl::new(o)),
    },
    Entry {
        name: "new-key-per-attempt",
        family: Family::Keys,
        row: Some(13),
        summary: keys::NEW_KEY_PER_ATTEMPT,
        consumer: false,
        not_applicable: &[VI, VII],
        options: &[],
        build: |_| {
            Box::new(
                design_fn(
                    "new-key-per-attempt",
                    keys::NEW_KEY_PER_ATTEMPT,
                    keys::atomic_key,
                )
                .key_per_attempt(),
            )
        },
    },
    Entry {
        name: "payload-hash",
        family: Family::Keys,
        row: Some(14),
        summary: keys::PAYLOAD_HASH,
        consumer: false,
        not_applicable: &[VII],
        options: &[],
        build: plain!("payload-hash", keys::PAYLOAD_HASH, keys::payload_hash),
    },
    Entry {
        name: "ack-first",
        family: Family::Consumers,
        row: Some(15),
        summary: consumers::ACK_FIRST,
        consumer: true,
        not_applicable: &[VI, VII],
        options: &[],
        build: plain!("ack-first", consumers::ACK_FIRST, consumers::ack_first),
    },
    Entry {
        name: "process-then-ack",
        family: Family::Consumers,
        row: Some(16),
        summary: consumers::PROCESS_THEN_ACK,
        consumer: true,
        not_applicable: &[VI, VII],
        options: &[],
        build: plain!(
            "process-then-ack",
            consumers::PROCESS_THEN_ACK,
            consumers::process_then_ack
        ),
    },
    Entry {
        name: "inbox",
        family: Family::Consumers,
        row: Some(17),
        summary: consumers::INBOX,
        consumer: true,
        not_applicable: &[],
        options: &[],
        build: plain!("inbox", consumers::INBOX, consumers::inbox),
    },
    Entry {
        name: "outbox-inbox",
        family: Family::Consumers,
        row: Some(18),
        summary: consumers::OUTBOX_INBOX,
        consumer: true,
        not_applicable: &[],
        options: &[],
        build: plain!(
            "outbox-inbox",
            consumers::OUTBOX_INBOX,
            consumers::outbox_inbox
        ),
    },
    Entry {
        name: "delete",
        family: Family::Http,
        row: None,
        summary: http::DELETE,
        consumer: false,
        not_applicable: &[VII],
        options: &[],
        build: plain!("delete", http::DELETE, http::delete),
    },
    Entry {
        name: "get",
        family: Family::Http,
        row: None,
        summary: http::GET,
        consumer: false,
        not_applicable: &[VI, VII],
        options: &[],
        build: |_| Box::new(design_fn("get", http::GET, http::get).safe()),
    },
    Entry {
        name: "patch",
        family: Family::Http,
        row: None,
        summary: http::PATCH,
        consumer: false,
        not_applicable: &[VI, VII],
        options: &[],
        build: plain!("patch", http::PATCH, http::patch),
    },
    Entry {
        name: "set-status",
        family: Family::Database,
        row: None,
        summary: database::SET_STATUS,
        consumer: false,
        not_applicable: &[VII],
        options: &[],
        build: plain!("set-status", database::SET_STATUS, database::set_status),
    },
    Entry {
        name: "counter",
        family: Family::Database,
        row: None,
        summary: database::COUNTER,
        consumer: false,
        not_applicable: &[VI, VII],
        options: &[],
        build: plain!("counter", database::COUNTER, database::counter),
    },
];

/// Every built-in design's entry: the catalog rows 1 to 18 in order, then the extra HTTP and
/// SQL designs the topic needs.
pub fn entries() -> &'static [Entry] {
    ENTRIES
}

/// The entry of the design called `name`.
pub fn entry(name: &str) -> Result<&'static Entry, UnknownDesign> {
    ENTRIES
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| unknown(name))
}

/// Designs of the user's own, registered once by [`crate::cli::main_with`] before any
/// command runs: the user's binary then knows them beside the catalog, by name.
static OWN: std::sync::OnceLock<Vec<std::sync::Arc<dyn Design>>> = std::sync::OnceLock::new();

/// Registers designs of the user's own for this process (see [`crate::cli::main_with`]).
/// Refuses a name of the catalog's, a name given twice, and a second registration.
pub fn register_own(designs: Vec<Box<dyn Design>>) -> Result<(), String> {
    let mut seen: Vec<&str> = Vec::new();
    for d in &designs {
        let name = d.name();
        if entry(name).is_ok() {
            return Err(format!(
                "your design `{name}` has the name of a design of idemlab's catalog: rename it"
            ));
        }
        if name.is_empty() || seen.contains(&name) {
            return Err(format!(
                "two of your designs are called `{name}`: give each its own name"
            ));
        }
        seen.push(name);
    }
    OWN.set(designs.into_iter().map(std::sync::Arc::from).collect())
        .map_err(|_| "designs of your own were registered already".to_string())
}

/// The registered design of the user's own called `name`.
pub fn own(name: &str) -> Option<Box<dyn Design>> {
    OWN.get()?
        .iter()
        .find(|d| d.name() == name)
        .map(|d| Box::new(SharedDesign(std::sync::Arc::clone(d))) as Box<dyn Design>)
}

/// The names of the registered designs of the user's own, in the order they were given.
pub fn own_names() -> Vec<String> {
    OWN.get()
        .map(|v| v.iter().map(|d| d.name().to_string()).collect())
        .unwrap_or_default()
}

/// A registered design, shared by every run that builds it (a design is a recipe).
struct SharedDesign(std::sync::Arc<dyn Design>);

impl Design for SharedDesign {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn summary(&self) -> &str {
        self.0.summary()
    }
    fn handle(&self, cx: api::Cx, req: api::Request) -> crate::world::design::HandlerFuture {
        self.0.handle(cx, req)
    }
    fn is_safe(&self) -> bool {
        self.0.is_safe()
    }
    fn mints_key_per_attempt(&self) -> bool {
        self.0.mints_key_per_attempt()
    }
    fn tasks(&self) -> Box<dyn crate::world::design::TaskStore + '_> {
        self.0.tasks()
    }
}

/// Every built-in design with its default options, in catalog order.
pub fn catalog() -> Vec<Box<dyn Design>> {
    ENTRIES.iter().map(|e| e.build(&Options::new())).collect()
}

/// The names of every built-in design, in catalog order.
pub fn names() -> Vec<String> {
    ENTRIES.iter().map(|e| e.name.to_string()).collect()
}

fn unknown(name: &str) -> UnknownDesign {
    let mut known = names();
    known.extend(own_names());
    let suggestion =
        crate::suggest::closest(name, known.iter().map(String::as_str)).map(str::to_string);
    UnknownDesign {
        given: name.to_string(),
        suggestion,
        known,
    }
}

/// The built-in design called `name`, with `options` (validated by the scenario reader), or
/// a registered design of the user's own of that name (which takes no options).
pub fn build(name: &str, options: &Options) -> Result<Box<dyn Design>, UnknownDesign> {
    match entry(name) {
        Ok(e) => Ok(e.build(options)),
        Err(unknown) => own(name).ok_or(unknown),
    }
}

/// The catalog as the scenario reader asks it: which designs exist, what options they take.
pub struct Catalog;

/// The catalog, for [`crate::settings::parse_with`].
pub const CATALOG: Catalog = Catalog;

impl crate::settings::DesignNames for Catalog {
    fn options_of(&self, name: &str) -> Result<&'static [OptionSpec], UnknownDesign> {
        match entry(name) {
            Ok(e) => Ok(e.options),
            // A registered design of the user's own takes no options.
            Err(unknown) => own(name).map(|_| &[][..]).ok_or(unknown),
        }
    }

    fn is_builtin(&self, name: &str) -> bool {
        entry(name).is_ok()
    }
}

/// The built-in design called `name`, with its default options.
pub fn lookup(name: &str) -> Result<Box<dyn Design>, UnknownDesign> {
    build(name, &Options::new())
}
