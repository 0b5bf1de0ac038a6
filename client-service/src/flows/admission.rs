//! Admission: the one Redis round trip every purchase request makes before it is queued.
//!
//! One script claims the buyer's `Idempotency-Key`, checks the sales window, the per-buyer
//! limit and the places left (the counters of `common::availability`), and records what it
//! decided under the key, all atomically:
//!
//! - a repeat of a key learns the first request's claim and changes nothing;
//! - a refusal (sold out, over the limit, ...) is stored as the key's answer: a sold-out
//!   request costs one round trip in all;
//! - an admitted request has taken its places from the counters, is pending for
//!   order-service, and has its `queued` status record, before anything is published.
//!
//! When the event has no counters (unknown event, or counters being rebuilt) nothing is
//! written, so that the client's retry is admitted afresh; the same holds after `withdraw`.

use std::sync::LazyLock;

use common::{
    availability::{self, EventKeys, Settlement, unix_ms},
    redis::RedisStore,
};
use contracts::purchases::{PurchaseStatus, PurchaseView, Selection};
use redis::Script;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    idempotency::{self, Claim},
    status,
};

// KEYS: meta remaining seats buyers pending taken claims records
// ARGV: now_ms buyer purchase fingerprint idempotency_key claim_ttl record record_ttl
//       mode(tier|seats) then (tier quantity) or seat ids
static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local repeated = redis.call('HGET', KEYS[7], ARGV[5])
if repeated then return {'repeat', repeated} end
local meta = redis.call('HMGET', KEYS[1], 'open_at', 'close_at', 'limit')
if not meta[1] then return {'unavailable'} end
local now = tonumber(ARGV[1])
local function claim(state, admission)
  redis.call('HSET', KEYS[7], ARGV[5],
    table.concat({state, ARGV[1], ARGV[3], ARGV[4], admission}, '|'))
  redis.call('EXPIRE', KEYS[7], ARGV[6])
end
local function refuse(...)
  claim('refused', table.concat({...}, ' '))
  return {...}
end
if now < tonumber(meta[1]) then return refuse('not_open', meta[1]) end
if meta[2] ~= '' and now >= tonumber(meta[2]) then return refuse('closed') end
local first = 10
local wanted, tiers, total = {}, {}, 0
if ARGV[9] == 'tier' then
  wanted[ARGV[first]] = tonumber(ARGV[first + 1]); tiers[1] = ARGV[first]
  total = tonumber(ARGV[first + 1])
else
  local seat_tiers = redis.call('HMGET', KEYS[3], unpack(ARGV, first))
  for i, tier in ipairs(seat_tiers) do
    if not tier then return refuse('unknown_seat', ARGV[first - 1 + i]) end
    if not wanted[tier] then wanted[tier] = 0; tiers[#tiers + 1] = tier end
    wanted[tier] = wanted[tier] + 1
  end
  total = #seat_tiers
  local taken = redis.call('SMISMEMBER', KEYS[6], unpack(ARGV, first))
  for i, is_taken in ipairs(taken) do
    if is_taken == 1 then return refuse('seat_taken', ARGV[first - 1 + i]) end
  end
end
local limit = tonumber(meta[3])
local held = tonumber(redis.call('HGET', KEYS[4], ARGV[2]) or '0')
if held + total > limit then return refuse('over_limit', tostring(math.max(limit - held, 0))) end
for _, tier in ipairs(tiers) do
  local left = redis.call('HGET', KEYS[2], tier)
  if not left then return refuse('unknown_tier', tier) end
  if tonumber(left) < wanted[tier] then return refuse('sold_out', tier) end
end
local parts = {}
for _, tier in ipairs(tiers) do
  redis.call('HINCRBY', KEYS[2], tier, -wanted[tier])
  parts[#parts + 1] = tier .. ':' .. wanted[tier]
end
redis.call('HINCRBY', KEYS[4], ARGV[2], total)
redis.call('HSET', KEYS[5], ARGV[3], ARGV[2] .. '|' .. table.concat(parts, ',') .. '|' .. ARGV[1])
claim('admitted', 'admitted')
redis.call('HSET', KEYS[8], ARGV[3], ARGV[7])
redis.call('EXPIRE', KEYS[8], ARGV[8])
return {'admitted'}
",
    )
});

/// What admission decided for a request that is not a repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The places were taken from the counters, the purchase is pending and recorded as
    /// queued: it must now be published.
    Admitted,
    /// The event's counters are not built: unknown event, or rebuilding after a flush.
    /// Nothing was written.
    Unavailable,
    NotOpen {
        opens_at: OffsetDateTime,
    },
    Closed,
    UnknownTier(Uuid),
    UnknownSeat(Uuid),
    /// A chosen seat is held or sold.
    SeatTaken(Uuid),
    SoldOut(Uuid),
    /// The buyer may ask for `allowance` more places at most.
    OverLimit {
        allowance: u32,
    },
}

impl Admission {
    /// Reads the script's words (`sold_out <tier>`, ...), as returned or as stored in a claim.
    pub fn parse(words: &[&str]) -> Self {
        let detail = words.get(1).copied().unwrap_or_default();
        let uuid = || detail.parse().unwrap_or_default();
        match words.first().copied() {
            Some("admitted") => Admission::Admitted,
            Some("not_open") => Admission::NotOpen {
                opens_at: from_unix_ms(detail).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            },
            Some("closed") => Admission::Closed,
            Some("unknown_tier") => Admission::UnknownTier(uuid()),
            Some("unknown_seat") => Admission::UnknownSeat(uuid()),
            Some("seat_taken") => Admission::SeatTaken(uuid()),
            Some("sold_out") => Admission::SoldOut(uuid()),
            Some("over_limit") => Admission::OverLimit {
                allowance: detail.parse().unwrap_or(0),
            },
            _ => Admission::Unavailable,
        }
    }
}

/// A purchase request as admission sees it.
pub struct Candidate<'a> {
    pub buyer_id: Uuid,
    pub idempotency_key: &'a str,
    pub fingerprint: &'a str,
    pub purchase_id: Uuid,
    pub event_id: Uuid,
    pub selection: &'a Selection,
    pub now: OffsetDateTime,
}

/// What came of the round trip.
#[derive(Debug)]
pub enum Outcome {
    Decided(Admission),
    /// Another request claimed the key first: this is what it claimed.
    Repeat(Claim),
}

pub async fn admit(redis: &RedisStore, candidate: &Candidate<'_>) -> anyhow::Result<Outcome> {
    let keys = EventKeys::new(redis, candidate.event_id);
    let queued = PurchaseView::new(
        candidate.purchase_id,
        candidate.event_id,
        PurchaseStatus::Queued,
    );
    let mut invocation = ADMIT.prepare_invoke();
    invocation
        .key(&keys.meta)
        .key(&keys.remaining)
        .key(&keys.seats)
        .key(&keys.buyers)
        .key(&keys.pending)
        .key(&keys.taken)
        .key(idempotency::claims_key(redis, candidate.buyer_id))
        .key(status::records_key(redis, candidate.buyer_id))
        .arg(unix_ms(candidate.now))
        .arg(candidate.buyer_id.to_string())
        .arg(candidate.purchase_id.to_string())
        .arg(candidate.fingerprint)
        .arg(candidate.idempotency_key)
        .arg(idempotency::KEY_TTL.as_secs())
        .arg(status::encode_record(&queued)?)
        .arg(status::RECORD_TTL.as_secs());
    match candidate.selection {
        Selection::BestAvailable { tier_id, quantity } => {
            invocation
                .arg("tier")
                .arg(tier_id.to_string())
                .arg(*quantity);
        }
        Selection::Seats { seat_ids } => {
            invocation.arg("seats");
            for seat_id in seat_ids {
                invocation.arg(seat_id.to_string());
            }
        }
    }
    let answer: Vec<String> = invocation.invoke_async(&mut redis.connection()).await?;
    let words: Vec<&str> = answer.iter().map(String::as_str).collect();
    Ok(match words.split_first() {
        Some((&"repeat", [stored])) => Outcome::Repeat(Claim::decode(stored)?),
        _ => Outcome::Decided(Admission::parse(&words)),
    })
}

/// Undoes the admission of a purchase that certainly was not queued: its places go back to
/// the counters and its key is forgotten, so that the retry is admitted afresh.
pub async fn withdraw(
    redis: &RedisStore,
    event_id: Uuid,
    buyer_id: Uuid,
    idempotency_key: &str,
    purchase_id: Uuid,
) -> anyhow::Result<()> {
    availability::settle(redis, event_id, &[(purchase_id, Settlement::GivenBack)]).await?;
    idempotency::forget(redis, buyer_id, idempotency_key).await
}

pub fn from_unix_ms(ms: &str) -> Option<OffsetDateTime> {
    let ms: i128 = ms.parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok()
}
