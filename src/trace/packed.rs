//! One event as stored: 32 bytes, no strings, no padding; the encoding of nodes, bodies and
//! details into its fields and back.

use super::*;

/// One event as stored: 32 bytes, see [`Trace`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Packed {
    pub(super) time_us: u64,
    /// The detail's wide field (a latency, an amount, a body value).
    pub(super) big: u64,
    pub(super) op: u32,
    /// The detail's narrow field (flags, a status, a step).
    pub(super) small: u32,
    pub(super) node_index: u16,
    pub(super) attempt: u8,
    pub(super) copy: u8,
    pub(super) kind: u8,
    pub(super) node_kind: u8,
    /// 0: no key; n: the key of this event's operation minted for attempt n - 1 (0 = per op).
    pub(super) key: u8,
    pub(super) detail_tag: u8,
}

#[inline(always)]
pub(super) fn pack_node(node: Node) -> (u8, u16) {
    match node {
        Node::Client(i) => (0, i),
        Node::Net => (1, 0),
        Node::Server(i) => (2, i),
        Node::Store => (3, 0),
        Node::Provider => (4, 0),
        Node::Sim => (5, 0),
    }
}

pub(super) fn unpack_node(kind: u8, index: u16) -> Node {
    match kind {
        0 => Node::Client(index),
        1 => Node::Net,
        2 => Node::Server(index),
        3 => Node::Store,
        4 => Node::Provider,
        _ => Node::Sim,
    }
}

#[inline(always)]
pub(super) fn pack_body(body: Body) -> (u32, u64) {
    match body {
        Body::Empty => (0, 0),
        Body::Order(id) => (1, id),
        Body::Receipt(id) => (2, id),
        Body::Count(n) => (3, n as u64),
        Body::Error(code) => (4, code as u64),
    }
}

pub(super) fn unpack_body(tag: u32, value: u64) -> Body {
    match tag {
        1 => Body::Order(value),
        2 => Body::Receipt(value),
        3 => Body::Count(value as i64),
        4 => Body::Error(ErrorCode::ALL[(value as usize).min(ErrorCode::ALL.len() - 1)]),
        _ => Body::Empty,
    }
}

#[inline(always)]
pub(super) fn pack_detail(detail: Detail) -> (u8, u32, u64) {
    match detail {
        Detail::None => (0, 0, 0),
        Detail::Message {
            request,
            latency_us,
        } => (1, u32::from(request), latency_us),
        Detail::Lost { request, cause } => (2, u32::from(request) | (cause as u32) << 1, 0),
        Detail::Step(step, won) => (3, step as u32, won.map_or(0, |w| 1 + u64::from(w))),
        Detail::Effect { kind, amount, nth } => {
            (4, kind as u32 | nth.min(0x00ff_ffff) << 8, amount)
        }
        Detail::Response(r) => {
            let (tag, value) = pack_body(r.body);
            (5, u32::from(r.status) | tag << 16, value)
        }
        Detail::Backoff { delay_us } => (6, 0, delay_us),
        Detail::Outcome(o) => (7, o as u32, 0),
        Detail::Crash(cause) => match cause {
            CrashCause::At => (8, 0, 0),
            CrashCause::Before(step) => (8, 1 | (step as u32) << 8, 0),
            CrashCause::After(step) => (8, 2 | (step as u32) << 8, 0),
        },
    }
}

pub(super) fn step_at(i: u32) -> StepKind {
    StepKind::ALL[(i as usize).min(StepKind::ALL.len() - 1)]
}

pub(super) fn unpack_detail(tag: u8, small: u32, big: u64) -> Detail {
    match tag {
        1 => Detail::Message {
            request: small & 1 == 1,
            latency_us: big,
        },
        2 => Detail::Lost {
            request: small & 1 == 1,
            cause: match small >> 1 {
                0 => LossCause::Random,
                1 => LossCause::Plan,
                2 => LossCause::Partition,
                _ => LossCause::Deduplicated,
            },
        },
        3 => Detail::Step(
            step_at(small),
            match big {
                1 => Some(false),
                2 => Some(true),
                _ => None,
            },
        ),
        4 => Detail::Effect {
            kind: EffectKind::ALL[((small & 0xff) as usize).min(EffectKind::ALL.len() - 1)],
            amount: big,
            nth: small >> 8,
        },
        5 => Detail::Response(Response {
            status: (small & 0xffff) as u16,
            body: unpack_body(small >> 16, big),
        }),
        6 => Detail::Backoff { delay_us: big },
        7 => Detail::Outcome(Outcome::ALL[(small as usize).min(Outcome::ALL.len() - 1)]),
        8 => Detail::Crash(match small & 0xff {
            0 => CrashCause::At,
            1 => CrashCause::Before(step_at(small >> 8)),
            _ => CrashCause::After(step_at(small >> 8)),
        }),
        _ => Detail::None,
    }
}

impl Packed {
    #[inline(always)]
    pub(super) fn pack(e: &TraceEvent) -> Packed {
        let (node_kind, node_index) = pack_node(e.node);
        let (detail_tag, small, big) = pack_detail(e.detail);
        // Keys are mostly minted by the simulated client for its own operation (see
        // `world::client`), so the operation is implied and only the attempt the key was minted
        // for is stored. Another operation's key (a client reusing one, or numbering keys per
        // client) is marked 254 and kept beside the events by `Trace::push`.
        Packed {
            time_us: e.time_us,
            big,
            op: e.op,
            small,
            node_index,
            attempt: e.attempt.min(255) as u8,
            copy: e.copy,
            kind: e.kind as u8,
            node_kind,
            // 255: the first operation's key, reused by a later one (`key = "shared"`).
            key: e.key.map_or(0, |k| {
                if k.op == 1 && k.attempt == 0 && e.op != 1 {
                    255
                } else if k.op != e.op || k.attempt > 252 {
                    KEY_ELSEWHERE
                } else {
                    k.attempt as u8 + 1
                }
            }),
            detail_tag,
        }
    }

    pub(super) fn unpack(&self) -> TraceEvent {
        TraceEvent {
            time_us: self.time_us,
            op: self.op,
            attempt: u16::from(self.attempt),
            copy: self.copy,
            kind: EventKind::ALL[usize::from(self.kind).min(EventKind::ALL.len() - 1)],
            node: unpack_node(self.node_kind, self.node_index),
            key: match self.key {
                0 | KEY_ELSEWHERE => None,
                255 => Some(IdemKey { op: 1, attempt: 0 }),
                k => Some(IdemKey {
                    op: self.op,
                    attempt: u32::from(k - 1),
                }),
            },
            detail: unpack_detail(self.detail_tag, self.small, self.big),
        }
    }
}
