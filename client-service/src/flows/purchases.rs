//! Purchase intake: validate, then one Redis round trip (`admission`) that claims the
//! idempotency key and admits or refuses the request; an admitted purchase is published and
//! answered 202 once the broker confirms it. Nothing is answered 202 that is not safely
//! queued; a publish without a confirm is answered 503, and the client's retry with the same
//! key publishes the same purchase again.

use std::{collections::BTreeMap, time::Duration};

use base64::Engine;
use contracts::purchases::{
    MAX_PLACES_PER_PURCHASE, PurchaseAccepted, PurchaseRequest, PurchaseRequestedV1,
    PurchaseStatus, PurchaseView, Selection,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    Deps, PurchaseError, Refusal,
    admission::{self, Admission, Candidate, Outcome},
    idempotency::{self, Claim, ClaimState},
    status,
};

/// How long a repeat waits for the first request with its key to be answered.
const REPEAT_WAIT: Duration = Duration::from_secs(5);
const REPEAT_POLL: Duration = Duration::from_millis(10);

pub async fn request_purchase(
    deps: &Deps,
    buyer_id: Uuid,
    idempotency_key: &str,
    request: &PurchaseRequest,
) -> Result<PurchaseAccepted, PurchaseError> {
    let selection = validate(request)?;
    let Ok(_permit) = deps.intake_permits.try_acquire() else {
        return Err(PurchaseError::Unavailable {
            reason: "too many purchases are being handled right now; nothing was reserved",
            retry_after_seconds: 1,
        });
    };
    let fingerprint = fingerprint(request);
    let candidate = Candidate {
        buyer_id,
        idempotency_key,
        fingerprint: &fingerprint,
        purchase_id: Uuid::now_v7(),
        event_id: request.event_id,
        selection: &selection,
        now: OffsetDateTime::now_utc(),
    };
    match admission::admit(&deps.redis, &candidate).await? {
        Outcome::Repeat(claim) => repeat(deps, &candidate, claim).await,
        Outcome::Decided(Admission::Admitted) => {
            queue(deps, &candidate, candidate.purchase_id, candidate.now).await
        }
        Outcome::Decided(Admission::Unavailable) => Err(not_on_sale(deps, request.event_id).await),
        Outcome::Decided(refusal) => Err(refused(refusal)),
    }
}

/// Publishes an admitted purchase and waits for the broker's confirm. Without one the answer
/// is 503: when the message certainly did not reach the queue the admission is withdrawn
/// (places back, key free); when it may have, the key stays `admitted` with its places taken,
/// and the client's retry publishes the same purchase again.
async fn queue(
    deps: &Deps,
    candidate: &Candidate<'_>,
    purchase_id: Uuid,
    requested_at: OffsetDateTime,
) -> Result<PurchaseAccepted, PurchaseError> {
    let request = PurchaseRequestedV1 {
        purchase_id,
        buyer_id: candidate.buyer_id,
        event_id: candidate.event_id,
        selection: candidate.selection.clone(),
        requested_at,
    };
    if let Err(error) = deps
        .purchase_queue
        .queue(request, candidate.idempotency_key)
        .await
    {
        tracing::warn!(error = %error, %purchase_id, "purchase not confirmed by the broker");
        if error.may_have_been_queued() {
            return Err(PurchaseError::Unavailable {
                reason: "the purchase could not be confirmed as queued; retry with the same \
                         Idempotency-Key to have it queued and learn its id",
                retry_after_seconds: 1,
            });
        }
        admission::withdraw(
            &deps.redis,
            candidate.event_id,
            candidate.buyer_id,
            candidate.idempotency_key,
            purchase_id,
        )
        .await?;
        return Err(PurchaseError::Unavailable {
            reason: "the purchase could not be queued; nothing was reserved",
            retry_after_seconds: 1,
        });
    }
    Ok(PurchaseAccepted {
        purchase_id,
        status: PurchaseStatus::Queued,
    })
}

/// A refusal as the buyer is told it.
fn refused(admission: Admission) -> PurchaseError {
    let refusal = match admission {
        Admission::NotOpen { opens_at } => Refusal::NotOpen(opens_at),
        Admission::Closed => Refusal::Closed,
        Admission::UnknownTier(tier_id) => Refusal::UnknownTier(tier_id),
        Admission::UnknownSeat(seat_id) => Refusal::UnknownSeat(seat_id),
        Admission::SeatTaken(seat_id) => Refusal::SeatTaken(seat_id),
        Admission::SoldOut(tier_id) => Refusal::SoldOut(tier_id),
        Admission::OverLimit { allowance } => Refusal::OverLimit { allowance },
        Admission::Admitted | Admission::Unavailable => {
            return PurchaseError::Internal(anyhow::anyhow!("{admission:?} is not a refusal"));
        }
    };
    PurchaseError::Refused(refusal)
}

/// The event has no counters: an unknown event (404), or one whose counters order-service is
/// rebuilding (503).
async fn not_on_sale(deps: &Deps, event_id: Uuid) -> PurchaseError {
    let url = format!("{}/v1/events/{event_id}", deps.catalog.event_url);
    match deps.catalog.http.get(url).send().await {
        Ok(response) if response.status() == reqwest::StatusCode::NOT_FOUND => {
            PurchaseError::Refused(Refusal::UnknownEvent)
        }
        _ => PurchaseError::Unavailable {
            reason: "availability of this event is being rebuilt; nothing was reserved",
            retry_after_seconds: 1,
        },
    }
}

/// A repeat of a key: the first answer, once there is one. A key left `admitted` longer than
/// a publish can take is one whose publish failed: the repeat publishes the purchase itself.
async fn repeat(
    deps: &Deps,
    candidate: &Candidate<'_>,
    mut claim: Claim,
) -> Result<PurchaseAccepted, PurchaseError> {
    let deadline = tokio::time::Instant::now() + REPEAT_WAIT;
    loop {
        if claim.fingerprint != candidate.fingerprint {
            return Err(PurchaseError::KeyReused);
        }
        match claim.state {
            ClaimState::Accepted => {
                return Ok(PurchaseAccepted {
                    purchase_id: claim.purchase_id,
                    status: PurchaseStatus::Queued,
                });
            }
            ClaimState::Refused(admission) => return Err(refused(admission)),
            ClaimState::Admitted
                if OffsetDateTime::now_utc() - claim.at >= deps.republish_after =>
            {
                return queue(deps, candidate, claim.purchase_id, claim.at).await;
            }
            ClaimState::Admitted => {}
        }
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(REPEAT_POLL).await;
        match idempotency::read(&deps.redis, candidate.buyer_id, candidate.idempotency_key).await? {
            Some(current) => claim = current,
            None => break,
        }
    }
    Err(PurchaseError::Unavailable {
        reason: "the first request with this Idempotency-Key is still being handled",
        retry_after_seconds: 1,
    })
}

fn validate(request: &PurchaseRequest) -> Result<Selection, PurchaseError> {
    let mut errors = BTreeMap::new();
    let max = MAX_PLACES_PER_PURCHASE;
    let selection = match (request.tier_id, request.quantity, &request.seat_ids) {
        (Some(tier_id), Some(quantity), None) => {
            if quantity == 0 || quantity as usize > max {
                errors.insert("quantity".to_owned(), format!("must be 1 to {max}"));
            }
            Some(Selection::BestAvailable { tier_id, quantity })
        }
        (None, None, Some(seat_ids)) => {
            let mut distinct = seat_ids.clone();
            distinct.sort_unstable();
            distinct.dedup();
            if seat_ids.is_empty() || seat_ids.len() > max {
                errors.insert("seat_ids".to_owned(), format!("must name 1 to {max} seats"));
            } else if distinct.len() != seat_ids.len() {
                errors.insert("seat_ids".to_owned(), "names a seat twice".to_owned());
            }
            Some(Selection::Seats {
                seat_ids: seat_ids.clone(),
            })
        }
        (Some(_), None, None) => {
            errors.insert("quantity".to_owned(), "is required with tier_id".to_owned());
            None
        }
        (None, Some(_), None) => {
            errors.insert("tier_id".to_owned(), "is required with quantity".to_owned());
            None
        }
        _ => {
            errors.insert(
                "selection".to_owned(),
                "give either tier_id and quantity, or seat_ids".to_owned(),
            );
            None
        }
    };
    match selection {
        Some(selection) if errors.is_empty() => Ok(selection),
        _ => Err(PurchaseError::Invalid(errors)),
    }
}

/// The request's identity for idempotency: a hash of its canonical JSON.
fn fingerprint(request: &PurchaseRequest) -> String {
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(canonical))
}

/// The purchase's status, for its buyer only (anyone else gets the same 404 as for a purchase
/// that does not exist).
pub async fn purchase(
    deps: &Deps,
    buyer_id: Uuid,
    purchase_id: Uuid,
) -> Result<PurchaseView, PurchaseError> {
    status::read(&deps.redis, buyer_id, purchase_id)
        .await?
        .ok_or(PurchaseError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        tier: Option<Uuid>,
        quantity: Option<u32>,
        seats: Option<Vec<Uuid>>,
    ) -> PurchaseRequest {
        PurchaseRequest {
            event_id: Uuid::now_v7(),
            tier_id: tier,
            quantity,
            seat_ids: seats,
        }
    }

    fn invalid_fields(result: Result<Selection, PurchaseError>) -> Vec<String> {
        match result {
            Err(PurchaseError::Invalid(errors)) => errors.into_keys().collect(),
            other => panic!("expected a validation failure, got {other:?}"),
        }
    }

    #[test]
    fn a_tier_and_quantity_or_distinct_seats_are_a_selection() {
        let tier = Uuid::now_v7();
        assert_eq!(
            validate(&request(Some(tier), Some(2), None)).ok(),
            Some(Selection::BestAvailable {
                tier_id: tier,
                quantity: 2
            })
        );
        let seat = Uuid::now_v7();
        assert!(validate(&request(None, None, Some(vec![seat]))).is_ok());
    }

    #[test]
    fn every_malformed_selection_names_its_field() {
        let tier = Some(Uuid::now_v7());
        let seat = Uuid::now_v7();
        assert_eq!(
            invalid_fields(validate(&request(tier, Some(0), None))),
            ["quantity"]
        );
        assert_eq!(
            invalid_fields(validate(&request(tier, Some(11), None))),
            ["quantity"]
        );
        assert_eq!(
            invalid_fields(validate(&request(tier, None, None))),
            ["quantity"]
        );
        assert_eq!(
            invalid_fields(validate(&request(None, None, Some(vec![seat, seat])))),
            ["seat_ids"]
        );
        assert_eq!(
            invalid_fields(validate(&request(tier, Some(1), Some(vec![seat])))),
            ["selection"]
        );
    }

    #[test]
    fn the_same_request_has_the_same_fingerprint() {
        let body = request(Some(Uuid::now_v7()), Some(1), None);
        assert_eq!(fingerprint(&body), fingerprint(&body.clone()));
        let other = PurchaseRequest {
            quantity: Some(2),
            ..body.clone()
        };
        assert_ne!(fingerprint(&body), fingerprint(&other));
    }
}
