//! When an order may be paid, and the states of a payment attempt.

use contracts::orders::OrderState;
use time::OffsetDateTime;

/// Where a payment attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentState {
    /// Recorded before the provider is called; its outcome is not known yet.
    Pending,
    Succeeded,
    Declined,
    /// Charged, then refunded in full.
    Refunded,
    /// The provider has no charge for it: nothing was charged.
    Failed,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Pending => "pending",
            PaymentState::Succeeded => "succeeded",
            PaymentState::Declined => "declined",
            PaymentState::Refunded => "refunded",
            PaymentState::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "pending" => PaymentState::Pending,
            "succeeded" => PaymentState::Succeeded,
            "declined" => PaymentState::Declined,
            "refunded" => PaymentState::Refunded,
            "failed" => PaymentState::Failed,
            _ => return None,
        })
    }
}

/// Why an order cannot be paid now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotPayable {
    HoldExpired,
    AlreadyPaid,
    /// Rejected or refunded: there is nothing to pay for.
    Closed(OrderState),
}

/// An order may be paid while its hold is live, and only then.
pub fn check_payable(
    state: OrderState,
    hold_expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(), NotPayable> {
    match state {
        OrderState::Reserved if hold_expires_at.is_some_and(|expiry| expiry > now) => Ok(()),
        OrderState::Reserved | OrderState::Expired | OrderState::Cancelled => {
            Err(NotPayable::HoldExpired)
        }
        OrderState::Paid | OrderState::Ticketed => Err(NotPayable::AlreadyPaid),
        OrderState::Rejected | OrderState::Refunded => Err(NotPayable::Closed(state)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_live_hold_is_payable() {
        let now = OffsetDateTime::now_utc();
        let later = Some(now + time::Duration::minutes(5));
        let earlier = Some(now - time::Duration::seconds(1));
        assert_eq!(check_payable(OrderState::Reserved, later, now), Ok(()));
        assert_eq!(
            check_payable(OrderState::Reserved, earlier, now),
            Err(NotPayable::HoldExpired)
        );
        assert_eq!(
            check_payable(OrderState::Expired, later, now),
            Err(NotPayable::HoldExpired)
        );
        assert_eq!(
            check_payable(OrderState::Paid, None, now),
            Err(NotPayable::AlreadyPaid)
        );
        assert_eq!(
            check_payable(OrderState::Rejected, None, now),
            Err(NotPayable::Closed(OrderState::Rejected))
        );
    }

    #[test]
    fn payment_states_read_back_what_they_write() {
        for state in [
            PaymentState::Pending,
            PaymentState::Succeeded,
            PaymentState::Declined,
            PaymentState::Refunded,
            PaymentState::Failed,
        ] {
            assert_eq!(PaymentState::parse(state.as_str()), Some(state));
        }
    }
}
