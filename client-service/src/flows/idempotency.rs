//! `Idempotency-Key` for purchases. Admission claims the key in the same script that admits
//! or refuses the request (so 20 concurrent repeats make one purchase). A buyer's claims live
//! in one Redis hash, one field per key, so that Redis holds a key per buyer rather than per
//! request (a keyspace that grows per request makes Redis rehash it, every command paying for
//! it, in the middle of a drop). A claim is one string, `state|at|purchase|fingerprint|admission`:
//! what admission said, when (unix ms), the purchase id, the body's hash; the same key with
//! another body is refused.
//!
//! States: `refused` (the answer is `admission`), `admitted` (the places are taken and the
//! request is being published), `accepted` (the broker confirmed it: 202). A key left
//! `admitted` by a request whose publish failed or went unconfirmed is taken over by the
//! client's retry, which publishes the same purchase again: order-service changes nothing for
//! a purchase it has already decided, so the retry learns the truth either way.

use std::{sync::LazyLock, time::Duration};

use anyhow::Context;
use common::redis::RedisStore;
use redis::{AsyncCommands, Script};
use time::OffsetDateTime;
use uuid::Uuid;

use super::admission::{self, Admission};

/// How long a buyer's keys are remembered after their last claim: each claim renews the
/// buyer's whole hash (Redis 7.0 has no expiry per field), so a key lives at least this long.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 3600);

// KEYS: the claims hash of each key; ARGV: the keys, in the same order. Only a claim still
// `admitted` moves on: a key that was withdrawn or has expired meanwhile is not brought back
// half-written.
static MARK_ACCEPTED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local marked = 0
for i, claims in ipairs(KEYS) do
  local claim = redis.call('HGET', claims, ARGV[i])
  if claim and string.sub(claim, 1, 9) == 'admitted|' then
    redis.call('HSET', claims, ARGV[i], 'accepted|' .. string.sub(claim, 10))
    marked = marked + 1
  end
end
return marked
",
    )
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimState {
    Admitted,
    Accepted,
    Refused(Admission),
}

/// A key's record.
#[derive(Debug, Clone)]
pub struct Claim {
    pub fingerprint: String,
    pub purchase_id: Uuid,
    pub state: ClaimState,
    /// When the request was admitted: also the purchase's `requested_at`.
    pub at: OffsetDateTime,
}

impl Claim {
    /// From its stored form, `state|at|purchase|fingerprint|admission`.
    pub fn decode(stored: &str) -> anyhow::Result<Self> {
        let mut parts = stored.splitn(5, '|');
        let mut part = |name: &str| {
            parts
                .next()
                .with_context(|| format!("idempotency claim without {name}: {stored:?}"))
        };
        let (state, at, purchase, fingerprint, admission) = (
            part("state")?,
            part("at")?,
            part("purchase")?,
            part("fingerprint")?,
            part("admission")?,
        );
        let state = match state {
            "admitted" => ClaimState::Admitted,
            "accepted" => ClaimState::Accepted,
            _ => {
                let words: Vec<&str> = admission.split(' ').collect();
                ClaimState::Refused(Admission::parse(&words))
            }
        };
        Ok(Self {
            fingerprint: fingerprint.to_owned(),
            purchase_id: purchase.parse()?,
            state,
            at: admission::from_unix_ms(at).context("idempotency claim time")?,
        })
    }
}

/// The hash of the buyer's claims, one field per `Idempotency-Key`.
pub fn claims_key(redis: &RedisStore, buyer_id: Uuid) -> String {
    redis.key(&format!("claims:{buyer_id}"))
}

/// The claim as it is now (`None` once expired or withdrawn).
pub async fn read(
    redis: &RedisStore,
    buyer_id: Uuid,
    idempotency_key: &str,
) -> anyhow::Result<Option<Claim>> {
    let stored: Option<String> = redis
        .connection()
        .hget(claims_key(redis, buyer_id), idempotency_key)
        .await?;
    stored.as_deref().map(Claim::decode).transpose()
}

/// Records that the broker confirmed the purchases of these `(buyer, Idempotency-Key)` claims,
/// all in one script: the purchase queue calls it once per confirmed message, not once per
/// request. Returns how many claims were still `admitted` and are now `accepted`.
pub async fn mark_accepted(
    redis: &RedisStore,
    claims: &[(Uuid, impl AsRef<str>)],
) -> anyhow::Result<u64> {
    if claims.is_empty() {
        return Ok(0);
    }
    let mut invocation = MARK_ACCEPTED.prepare_invoke();
    for (buyer_id, idempotency_key) in claims {
        invocation
            .key(claims_key(redis, *buyer_id))
            .arg(idempotency_key.as_ref());
    }
    Ok(invocation.invoke_async(&mut redis.connection()).await?)
}

/// Forgets the key, so that a retry with it is admitted afresh.
pub async fn forget(
    redis: &RedisStore,
    buyer_id: Uuid,
    idempotency_key: &str,
) -> anyhow::Result<()> {
    let _: i64 = redis
        .connection()
        .hdel(claims_key(redis, buyer_id), idempotency_key)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_claim_reads_back_with_its_refusal() {
        let purchase = Uuid::now_v7();
        let tier = Uuid::now_v7();
        let claim = Claim::decode(&format!(
            "refused|1764840000000|{purchase}|abc-_9|sold_out {tier}"
        ))
        .expect("a claim");
        assert_eq!(claim.purchase_id, purchase);
        assert_eq!(claim.fingerprint, "abc-_9");
        assert_eq!(claim.state, ClaimState::Refused(Admission::SoldOut(tier)));
        assert_eq!(claim.at.unix_timestamp(), 1_764_840_000);
        let accepted = Claim::decode(&format!("accepted|1764840000000|{purchase}|abc|admitted"))
            .expect("a claim");
        assert_eq!(accepted.state, ClaimState::Accepted);
    }

    #[test]
    fn a_truncated_claim_is_an_error_not_a_guess() {
        assert!(Claim::decode("admitted|1764840000000").is_err());
        assert!(Claim::decode("admitted|soon|x|y|admitted").is_err());
    }
}
