//! Stage one of the reader: the raw file, as serde reads it (`deny_unknown_fields`), every
//! value that needs checking kept with its span.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use toml::Spanned;

use super::{Backoff, Comparison, Jitter, KeyPolicy};

// ----- stage one: the raw file -----

/// A duration or latency as written: a string with a unit. A bare number is refused here, with
/// the reason, because "100" could mean microseconds, milliseconds or seconds.
pub(crate) struct DurText(pub(crate) String);

impl<'de> Deserialize<'de> for DurText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with a unit, such as \"20ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurText, E> {
                Ok(DurText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurText, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}ms\" (or us, s, m, h) in quotes"
                )))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurText, E> {
                self.visit_i64(v as i64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurText, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}ms\" (or us, s, m, h) in quotes"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) seed: Option<u64>,
    pub(crate) designs: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(crate) own_designs: Vec<Spanned<String>>,
    pub(crate) workload: Option<RawWorkload>,
    pub(crate) client: Option<RawClient>,
    pub(crate) network: Option<RawNetwork>,
    pub(crate) server: Option<RawServer>,
    pub(crate) provider: Option<RawProvider>,
    pub(crate) limits: Option<RawLimits>,
    #[serde(default)]
    pub(crate) faults: Vec<Spanned<RawFault>>,
    pub(crate) broker: Option<Spanned<RawBroker>>,
    pub(crate) oracle: Option<RawOracle>,
    #[serde(default)]
    pub(crate) design: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    #[serde(default)]
    pub(crate) expect: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<Comparison>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkload {
    pub(crate) ops: Spanned<i64>,
    pub(crate) clients: Option<Spanned<i64>>,
    pub(crate) interval: Option<Spanned<DurText>>,
    pub(crate) amount: Option<Spanned<i64>>,
    pub(crate) amounts: Option<Spanned<Vec<Spanned<i64>>>>,
    pub(crate) resources: Option<Spanned<i64>>,
    pub(crate) item: Option<Spanned<i64>>,
    #[serde(default)]
    pub(crate) op: Vec<Spanned<RawPayload>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOracle {
    #[serde(default)]
    pub(crate) effect_keys: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) exists: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPayload {
    pub(crate) op: Option<Spanned<i64>>,
    pub(crate) item: Option<Spanned<i64>>,
    pub(crate) amount: Option<Spanned<i64>>,
    pub(crate) version: Option<Spanned<i64>>,
    pub(crate) key_of: Option<Spanned<i64>>,
    #[serde(default)]
    pub(crate) fields: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBroker {
    pub(crate) visibility_timeout: Option<Spanned<DurText>>,
    pub(crate) max_receives: Option<Spanned<i64>>,
    pub(crate) redrive_after: Option<Spanned<DurText>>,
    pub(crate) fifo_dedup: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClient {
    pub(crate) retry: Option<RawRetry>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetry {
    pub(crate) timeout: Option<Spanned<DurText>>,
    pub(crate) attempts_max: Option<Spanned<i64>>,
    pub(crate) backoff: Option<Backoff>,
    pub(crate) backoff_base: Option<Spanned<DurText>>,
    pub(crate) backoff_cap: Option<Spanned<DurText>>,
    pub(crate) jitter: Option<Jitter>,
    pub(crate) key: Option<KeyPolicy>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    pub(crate) latency: Option<Spanned<DurText>>,
    pub(crate) loss: Option<Spanned<RawLoss>>,
    pub(crate) duplicate: Option<Spanned<f64>>,
    #[serde(default)]
    pub(crate) partitions: Vec<Spanned<RawPartition>>,
}

/// `loss = 0.1` (both directions) or `loss = { request = 0.1, response = 0.2 }`.
#[derive(Default)]
pub(crate) struct RawLoss {
    pub(crate) request: Option<f64>,
    pub(crate) response: Option<f64>,
}

impl<'de> Deserialize<'de> for RawLoss {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawLoss;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a probability, or a table `{ request = P, response = P }`")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawLoss, E> {
                Ok(RawLoss {
                    request: Some(v),
                    response: Some(v),
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawLoss, E> {
                self.visit_f64(v as f64)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawLoss, A::Error> {
                let mut loss = RawLoss::default();
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "request" => &mut loss.request,
                        "response" => &mut loss.response,
                        other => {
                            return Err(de::Error::unknown_field(other, &["request", "response"]));
                        }
                    };
                    *slot = Some(map.next_value::<f64>()?);
                }
                Ok(loss)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPartition {
    pub(crate) from: Spanned<DurText>,
    pub(crate) until: Spanned<DurText>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub(crate) count: Option<Spanned<i64>>,
    pub(crate) processing: Option<Spanned<DurText>>,
    pub(crate) store_latency: Option<Spanned<DurText>>,
    pub(crate) restart_delay: Option<Spanned<DurText>>,
    pub(crate) key_ttl: Option<Spanned<DurText>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    pub(crate) latency: Option<Spanned<DurText>>,
    pub(crate) unavailable: Option<Spanned<f64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub(crate) max_events: Option<Spanned<i64>>,
    pub(crate) max_time: Option<Spanned<DurText>>,
    pub(crate) max_trace_events: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFault {
    pub(crate) kind: Spanned<String>,
    pub(crate) message: Option<Spanned<String>>,
    pub(crate) op: Option<Spanned<i64>>,
    pub(crate) attempt: Option<Spanned<i64>>,
    pub(crate) copy: Option<Spanned<i64>>,
    pub(crate) by: Option<Spanned<DurText>>,
    pub(crate) at: Option<Spanned<DurText>>,
    pub(crate) server: Option<Spanned<i64>>,
    pub(crate) before: Option<Spanned<String>>,
    pub(crate) after: Option<Spanned<String>>,
    pub(crate) from: Option<Spanned<DurText>>,
    pub(crate) until: Option<Spanned<DurText>>,
    pub(crate) step: Option<Spanned<String>>,
    pub(crate) position: Option<Spanned<i64>>,
}
