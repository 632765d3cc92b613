//! The claims of the deliveries being handled, kept where a shutdown can find them.
//!
//! A [`DedupGuard`](super::DedupGuard) that is finished, or dropped while its
//! runtime runs, settles its claims itself. What neither does is a server stopped
//! with deliveries in flight: the runtime that would run the release goes away
//! with the handlers, and a claim on a shared store would hold for its whole lease,
//! delaying the sender's retry by that much. So every guard's claims are
//! registered here, and [`DedupPolicy::shutdown`](super::DedupPolicy::shutdown)
//! releases all that are left.
//!
//! A slot table under one mutex: a register and a take per delivery, each a lock,
//! a vector index and a move (tens of nanoseconds uncontended).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::store::{ClaimToken, DedupKey};

/// The claims of one delivery. A claim settled on its own
/// ([`Unfinished::take_one`]) stays in place with the token [`SETTLED`], so that
/// the others keep their index.
pub(super) type Claims = Vec<(DedupKey, ClaimToken)>;

/// The token of a claim settled on its own (real tokens are never zero).
const SETTLED: u128 = 0;

/// Drops the claims settled on their own.
fn unsettled(mut claims: Claims) -> Claims {
    claims.retain(|(_, token)| token.as_u128() != SETTLED);
    claims
}

/// Where a guard's claims are registered: the slot and the registration (a slot is
/// reused, a registration never is).
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket {
    slot: usize,
    id: u64,
}

/// The registry; see the [module docs](self).
#[derive(Debug, Default)]
pub(super) struct Unfinished {
    slots: Mutex<Slots>,
    /// `Slots::closed`, readable without the lock (checked before every claim).
    closed: AtomicBool,
}

#[derive(Debug, Default)]
struct Slots {
    /// `(registration, claims)`; registration 0 is an empty slot.
    entries: Vec<(u64, Claims)>,
    free: Vec<usize>,
    last_id: u64,
    closed: bool,
}

impl Unfinished {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        // The table stays consistent whatever panicked while holding the lock: every
        // change under it is one assignment.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers `claims`, or gives them back when the registry is closed (the
    /// receiver is shutting down and will not release them).
    pub(super) fn register(&self, claims: Claims) -> Result<Ticket, Claims> {
        let mut slots = self.slots();
        if slots.closed {
            return Err(claims);
        }
        slots.last_id += 1;
        let id = slots.last_id;
        let slot = match slots.free.pop() {
            Some(slot) => {
                slots.entries[slot] = (id, claims);
                slot
            }
            None => {
                slots.entries.push((id, claims));
                slots.entries.len() - 1
            }
        };
        Ok(Ticket { slot, id })
    }

    /// Takes the claims of `ticket` out: empty when a shutdown took them first.
    pub(super) fn take(&self, ticket: Ticket) -> Claims {
        let mut slots = self.slots();
        match slots.entries.get_mut(ticket.slot) {
            Some(entry) if entry.0 == ticket.id => {
                let claims = std::mem::take(&mut entry.1);
                entry.0 = 0;
                slots.free.push(ticket.slot);
                unsettled(claims)
            }
            _ => Claims::new(),
        }
    }

    /// Takes out the claim at `index` of `ticket`'s claims (the others keep their
    /// place): `None` when it was settled already, or a shutdown took it.
    pub(super) fn take_one(&self, ticket: Ticket, index: usize) -> Option<(DedupKey, ClaimToken)> {
        let mut slots = self.slots();
        let (id, claims) = slots.entries.get_mut(ticket.slot)?;
        if *id != ticket.id {
            return None;
        }
        let claim = claims.get_mut(index)?;
        if claim.1.as_u128() == SETTLED {
            return None;
        }
        let taken = *claim;
        claim.1 = ClaimToken::from_u128(SETTLED);
        Some(taken)
    }

    /// A copy of the claims of `ticket`, left registered (a dropped guard releases
    /// them in the background and takes them out once released, so that a shutdown
    /// meanwhile still finds them).
    pub(super) fn copy(&self, ticket: Ticket) -> Claims {
        match self.slots().entries.get(ticket.slot) {
            Some((id, claims)) if *id == ticket.id => unsettled(claims.clone()),
            _ => Claims::new(),
        }
    }

    /// Closes the registry (nothing registers any more) and takes every claim out.
    pub(super) fn close(&self) -> Claims {
        let mut slots = self.slots();
        slots.closed = true;
        self.closed.store(true, Ordering::Release);
        slots.free.clear();
        std::mem::take(&mut slots.entries)
            .into_iter()
            .filter(|(id, _)| *id != 0)
            .flat_map(|(_, claims)| unsettled(claims))
            .collect()
    }

    /// Whether [`close`](Self::close) was called.
    /// A hint without the lock; `register` decides under it.
    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(n: u8) -> Claims {
        vec![(
            DedupKey::new(&n.to_string(), "id"),
            ClaimToken::from_u128(u128::from(n)),
        )]
    }

    #[test]
    fn a_reused_slot_is_not_taken_by_an_old_ticket() {
        let registry = Unfinished::default();
        let first = registry.register(claims(1)).unwrap();
        assert_eq!(registry.take(first), claims(1));
        let second = registry.register(claims(2)).unwrap();
        assert_eq!(second.slot, first.slot);
        assert!(registry.take(first).is_empty());
        assert!(registry.copy(first).is_empty());
        assert_eq!(registry.copy(second), claims(2));
        assert_eq!(registry.take(second), claims(2));
        assert!(registry.take(second).is_empty());
    }

    #[test]
    fn a_claim_taken_alone_is_not_taken_again() {
        let registry = Unfinished::default();
        let two = [claims(1), claims(2)].concat();
        let ticket = registry.register(two.clone()).unwrap();
        assert_eq!(registry.take_one(ticket, 0), Some(two[0]));
        assert_eq!(registry.take_one(ticket, 0), None);
        assert_eq!(registry.take_one(ticket, 5), None);
        assert_eq!(registry.copy(ticket), claims(2));
        let other = registry.register(claims(3)).unwrap();
        assert_eq!(registry.take_one(other, 0), Some(claims(3)[0]));
        assert!(registry.close().iter().all(|c| *c == two[1]));
        assert!(registry.take(ticket).is_empty());
    }

    #[test]
    fn close_takes_everything_and_refuses_more() {
        let registry = Unfinished::default();
        let a = registry.register(claims(1)).unwrap();
        let b = registry.register(claims(2)).unwrap();
        let _ = registry.take(a);
        let c = registry.register(claims(3)).unwrap();
        let mut left = registry.close();
        left.sort_by_key(|(key, _)| *key != claims(2)[0].0);
        assert_eq!(left, [claims(2), claims(3)].concat());
        assert!(registry.is_closed());
        assert!(registry.take(b).is_empty() && registry.take(c).is_empty());
        assert_eq!(registry.register(claims(4)).unwrap_err(), claims(4));
    }
}
