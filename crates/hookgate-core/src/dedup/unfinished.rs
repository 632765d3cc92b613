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

/// The claims of one delivery (one, the usual delivery's, without an allocation).
/// A claim settled on its own ([`Unfinished::take_one`]) stays in place with the
/// token [`SETTLED`], so that the others keep their index.
pub(super) type Claims = smallvec::SmallVec<[(DedupKey, ClaimToken); 1]>;

/// The token of a claim settled on its own (real tokens are never zero).
const SETTLED: u128 = 0;

/// Drops the claims settled on their own.
fn unsettled(mut claims: Claims) -> Claims {
    claims.retain(|(_, token)| token.as_u128() != SETTLED);
    claims
}

/// Which of a delivery's claims were marked handled ([`Unfinished::mark_handled`]):
/// empty (no allocation) until the first mark.
type Handled = Vec<bool>;

/// The unsettled claims of a delivery, parted: those whose events were handled
/// (they are to be completed, whatever else happens) and the others.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Parted {
    pub(super) handled: Claims,
    pub(super) rest: Claims,
}

impl Parted {
    fn of(claims: Claims, handled: &Handled) -> Self {
        if !handled.contains(&true) {
            return Self {
                handled: Claims::new(),
                rest: unsettled(claims),
            };
        }
        let mut parted = Self::default();
        for (index, claim) in claims.into_iter().enumerate() {
            if claim.1.as_u128() == SETTLED {
                continue;
            }
            if handled.get(index).copied().unwrap_or(false) {
                parted.handled.push(claim);
            } else {
                parted.rest.push(claim);
            }
        }
        parted
    }

    fn extend(&mut self, other: Self) {
        self.handled.extend(other.handled);
        self.rest.extend(other.rest);
    }

    /// Whether there is nothing to settle.
    pub(super) fn is_empty(&self) -> bool {
        self.handled.is_empty() && self.rest.is_empty()
    }
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
    /// `(registration, claims, handled marks)`; registration 0 is an empty slot.
    entries: Vec<(u64, Claims, Handled)>,
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
                slots.entries[slot] = (id, claims, Handled::new());
                slot
            }
            None => {
                slots.entries.push((id, claims, Handled::new()));
                slots.entries.len() - 1
            }
        };
        Ok(Ticket { slot, id })
    }

    /// Takes the claims of `ticket` out: empty when a shutdown took them first.
    pub(super) fn take(&self, ticket: Ticket) -> Parted {
        let mut slots = self.slots();
        match slots.entries.get_mut(ticket.slot) {
            Some(entry) if entry.0 == ticket.id => {
                let claims = std::mem::take(&mut entry.1);
                let handled = std::mem::take(&mut entry.2);
                entry.0 = 0;
                slots.free.push(ticket.slot);
                Parted::of(claims, &handled)
            }
            _ => Parted::default(),
        }
    }

    /// Marks the claim at `index` of `ticket`'s claims as handled: whatever ends the
    /// delivery (its answer, a drop, a shutdown) completes it. False when it was
    /// settled already, or a shutdown took it.
    pub(super) fn mark_handled(&self, ticket: Ticket, index: usize) -> bool {
        let mut slots = self.slots();
        let Some((id, claims, handled)) = slots.entries.get_mut(ticket.slot) else {
            return false;
        };
        if *id != ticket.id || claims.get(index).is_none_or(|c| c.1.as_u128() == SETTLED) {
            return false;
        }
        if handled.len() < claims.len() {
            handled.resize(claims.len(), false);
        }
        handled[index] = true;
        true
    }

    /// Takes out the claim at `index` of `ticket`'s claims (the others keep their
    /// place): `None` when it was settled already, or a shutdown took it.
    pub(super) fn take_one(&self, ticket: Ticket, index: usize) -> Option<(DedupKey, ClaimToken)> {
        let mut slots = self.slots();
        let (id, claims, _) = slots.entries.get_mut(ticket.slot)?;
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
    pub(super) fn copy(&self, ticket: Ticket) -> Parted {
        match self.slots().entries.get(ticket.slot) {
            Some((id, claims, handled)) if *id == ticket.id => Parted::of(claims.clone(), handled),
            _ => Parted::default(),
        }
    }

    /// Closes the registry (nothing registers any more) and takes every claim out.
    pub(super) fn close(&self) -> Parted {
        let mut slots = self.slots();
        slots.closed = true;
        self.closed.store(true, Ordering::Release);
        slots.free.clear();
        let mut left = Parted::default();
        for (id, claims, handled) in std::mem::take(&mut slots.entries) {
            if id != 0 {
                left.extend(Parted::of(claims, &handled));
            }
        }
        left
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
        smallvec::smallvec![(
            DedupKey::new(&n.to_string(), "id"),
            ClaimToken::from_u128(u128::from(n)),
        )]
    }

    /// The claims of `parts`, one after another.
    fn join(parts: &[Claims]) -> Claims {
        parts.iter().flatten().copied().collect()
    }

    #[test]
    fn a_reused_slot_is_not_taken_by_an_old_ticket() {
        let registry = Unfinished::default();
        let first = registry.register(claims(1)).unwrap();
        assert_eq!(registry.take(first).rest, claims(1));
        let second = registry.register(claims(2)).unwrap();
        assert_eq!(second.slot, first.slot);
        assert!(registry.take(first).is_empty());
        assert!(registry.copy(first).is_empty());
        assert!(!registry.mark_handled(first, 0));
        assert_eq!(registry.copy(second).rest, claims(2));
        assert_eq!(registry.take(second).rest, claims(2));
        assert!(registry.take(second).is_empty());
    }

    #[test]
    fn a_claim_taken_alone_is_not_taken_again() {
        let registry = Unfinished::default();
        let two = join(&[claims(1), claims(2)]);
        let ticket = registry.register(two.clone()).unwrap();
        assert_eq!(registry.take_one(ticket, 0), Some(two[0]));
        assert_eq!(registry.take_one(ticket, 0), None);
        assert_eq!(registry.take_one(ticket, 5), None);
        assert_eq!(registry.copy(ticket).rest, claims(2));
        let other = registry.register(claims(3)).unwrap();
        assert_eq!(registry.take_one(other, 0), Some(claims(3)[0]));
        assert!(!registry.mark_handled(other, 0));
        let left = registry.close();
        assert!(left.handled.is_empty() && left.rest[..] == [two[1]]);
        assert!(registry.take(ticket).is_empty());
    }

    #[test]
    fn close_takes_everything_and_refuses_more() {
        let registry = Unfinished::default();
        let a = registry.register(claims(1)).unwrap();
        let b = registry.register(claims(2)).unwrap();
        let _ = registry.take(a);
        let c = registry.register(claims(3)).unwrap();
        let mut left = registry.close().rest;
        left.sort_by_key(|(key, _)| *key != claims(2)[0].0);
        assert_eq!(left, join(&[claims(2), claims(3)]));
        assert!(registry.is_closed());
        assert!(registry.take(b).is_empty() && registry.take(c).is_empty());
        assert_eq!(registry.register(claims(4)).unwrap_err(), claims(4));
    }

    #[test]
    fn handled_claims_are_parted_from_the_others_however_the_delivery_ends() {
        let registry = Unfinished::default();
        let three = join(&[claims(1), claims(2), claims(3)]);
        let ticket = registry.register(three.clone()).unwrap();
        assert!(registry.mark_handled(ticket, 0));
        assert!(registry.mark_handled(ticket, 0));
        assert!(!registry.mark_handled(ticket, 3));
        assert_eq!(registry.take_one(ticket, 1), Some(three[1]));
        assert!(!registry.mark_handled(ticket, 1));
        let expected = Parted {
            handled: smallvec::smallvec![three[0]],
            rest: smallvec::smallvec![three[2]],
        };
        // A drop copies, a shutdown closes, an answer takes: the same parts.
        assert_eq!(registry.copy(ticket), expected);
        let other = registry.register(claims(4)).unwrap();
        let mut closed = registry.close();
        closed.rest.sort_by_key(|(key, _)| *key != three[2].0);
        assert_eq!(closed.handled, expected.handled);
        assert_eq!(closed.rest[..], [three[2], claims(4)[0]]);
        assert!(registry.take(ticket).is_empty() && registry.take(other).is_empty());

        let registry = Unfinished::default();
        let ticket = registry.register(three.clone()).unwrap();
        assert!(registry.mark_handled(ticket, 2));
        let taken = registry.take(ticket);
        assert_eq!(taken.handled[..], [three[2]]);
        assert_eq!(taken.rest[..], three[..2]);
    }
}
