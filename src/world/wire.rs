//! The network's part of `Shared`: the messages on the wire, each in a slot until it arrives.

use crate::vocab::{Request, Response};

/// A message on the wire.
#[derive(Clone, Copy)]
pub(crate) enum InFlight {
    /// A request copy on its way to `server`.
    Request { req: Request, server: u16 },
    /// A response copy on its way to the client.
    Response { req: Request, response: Response },
}

/// Messages on the wire, by slot; freed slots are reused.
#[derive(Clone, Default)]
pub(crate) struct Wire {
    slots: Vec<Option<InFlight>>,
    free: Vec<u32>,
}

impl Wire {
    pub(crate) fn put(&mut self, msg: InFlight) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(msg);
                slot
            }
            None => {
                self.slots.push(Some(msg));
                (self.slots.len() - 1) as u32
            }
        }
    }

    pub(crate) fn take(&mut self, slot: u32) -> Option<InFlight> {
        let msg = self.slots.get_mut(slot as usize)?.take();
        if msg.is_some() {
            self.free.push(slot);
        }
        msg
    }
}
