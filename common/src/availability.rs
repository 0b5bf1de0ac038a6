//! The Redis side of availability: its key schema and the scripts that change it, shared by
//! order-service (which builds and corrects the counters), client-service (admission) and
//! event-service (display).
//!
//! Every key of one event carries the hash tag `{event:<id>}`, so that under Redis Cluster
//! they live in one slot and one script may touch them all:
//!
//! - `meta`: hash `open_at`, `close_at` (unix ms, empty when open-ended), `limit` (per buyer);
//!   its absence means "not built (yet, or since a flush)": callers answer 503 until
//!   order-service rebuilds it, never "full capacity".
//! - `remaining`: hash tier id -> places that may still be admitted.
//! - `seats`: hash seat id -> tier id, so that admission can count chosen seats per tier.
//! - `taken`: set of the seats held or sold, so that a chosen seat someone has is refused
//!   (409) without queueing.
//! - `buyers`: hash buyer id -> places the buyer holds, owns or has queued.
//! - `pending`: hash purchase id -> `buyer|tier:n,tier:n|admitted_at_ms`, the purchases
//!   admitted (by client-service's admission script) and not yet decided by order-service:
//!   what reconciliation must keep out of the counters, and what a rejection gives back.
//!
//! The counters are a filter in front of Postgres, never the truth: Postgres refuses whatever
//! they let through wrongly, and the reconciler rewrites them from Postgres.

use std::{collections::HashMap, sync::LazyLock};

use redis::{AsyncCommands, Script};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::redis::RedisStore;

/// The keys of one event.
pub struct EventKeys {
    pub meta: String,
    pub remaining: String,
    pub seats: String,
    pub taken: String,
    pub buyers: String,
    pub pending: String,
}

impl EventKeys {
    pub fn new(redis: &RedisStore, event_id: Uuid) -> Self {
        let key = |name: &str| redis.key(&format!("{{event:{event_id}}}:{name}"));
        Self {
            meta: key("meta"),
            remaining: key("remaining"),
            seats: key("seats"),
            taken: key("taken"),
            buyers: key("buyers"),
            pending: key("pending"),
        }
    }
}

/// Places left per tier, or `None` when the counters of this event are not in Redis (not
/// built yet, or lost in a flush). Places promised to queued purchases are not left.
pub async fn read_remaining(
    redis: &RedisStore,
    event_id: Uuid,
) -> redis::RedisResult<Option<HashMap<Uuid, i64>>> {
    let keys = EventKeys::new(redis, event_id);
    let mut connection = redis.connection();
    let (built, raw): (bool, HashMap<String, i64>) = redis::pipe()
        .exists(&keys.meta)
        .hgetall(&keys.remaining)
        .query_async(&mut connection)
        .await?;
    if !built {
        return Ok(None);
    }
    Ok(Some(
        raw.into_iter()
            .filter_map(|(tier, remaining)| tier.parse().ok().map(|tier| (tier, remaining.max(0))))
            .collect(),
    ))
}

/// The sales terms admission enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalesTerms {
    pub open_at: OffsetDateTime,
    pub close_at: Option<OffsetDateTime>,
    pub per_buyer_limit: u32,
}

/// Whether a decided purchase used the places admission took for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// The places are held in Postgres: the counters were right.
    Used,
    /// Nothing was reserved: the places go back to the counters.
    GivenBack,
}

// KEYS: remaining buyers pending; ARGV: (purchase outcome)*
// Only a purchase still pending gives anything back, so settling twice changes nothing.
static SETTLE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
for i = 1, #ARGV, 2 do
  local entry = redis.call('HGET', KEYS[3], ARGV[i])
  if entry then
    redis.call('HDEL', KEYS[3], ARGV[i])
    if ARGV[i + 1] == 'given_back' then
      local buyer, parts = string.match(entry, '^([^|]*)|([^|]*)')
      local total = 0
      for tier, n in string.gmatch(parts, '([^:,]+):(%d+)') do
        redis.call('HINCRBY', KEYS[1], tier, n)
        total = total + tonumber(n)
      end
      redis.call('HINCRBY', KEYS[2], buyer, -total)
    end
  end
end
return 1
",
    )
});

// KEYS: meta remaining buyers taken; ARGV: buyer tier_count (tier n)* place*
// A counter that is not built is left alone: the rebuild reads Postgres, which already has
// the places back.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local total = 0
local last_tier = 2 + 2 * tonumber(ARGV[2])
for i = 3, last_tier, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
  total = total + tonumber(ARGV[i + 1])
end
redis.call('HINCRBY', KEYS[3], ARGV[1], -total)
for i = last_tier + 1, #ARGV do
  redis.call('SREM', KEYS[4], ARGV[i])
end
return 1
",
    )
});

// KEYS: meta remaining buyers pending taken staged_taken
// ARGV: open_ms close_ms limit tier_count buyer_count taken_count staged (tier available)*
//       (buyer held)*
// The taken seats (tens of thousands for a large venue) are staged in a key of their own
// beforehand, a chunk per command, and swapped in here: Redis runs one script at a time, and
// writing them all inside it held every admission behind it for tens of milliseconds at each
// reconciliation. When none were staged (`staged` is 0) the set is kept, provided it still
// holds `taken_count` seats.
static RECONCILE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local pending_by_tier, pending_by_buyer = {}, {}
local pending = redis.call('HGETALL', KEYS[4])
for i = 2, #pending, 2 do
  local buyer, parts = string.match(pending[i], '^([^|]*)|([^|]*)')
  for tier, n in string.gmatch(parts, '([^:,]+):(%d+)') do
    pending_by_tier[tier] = (pending_by_tier[tier] or 0) + tonumber(n)
    pending_by_buyer[buyer] = (pending_by_buyer[buyer] or 0) + tonumber(n)
  end
end
if ARGV[7] == '1' then
  if redis.call('SCARD', KEYS[6]) ~= tonumber(ARGV[6]) then
    return redis.error_reply('the staged taken seats are incomplete')
  end
  redis.call('UNLINK', KEYS[5])
  if redis.call('EXISTS', KEYS[6]) == 1 then
    redis.call('RENAME', KEYS[6], KEYS[5])
    redis.call('PERSIST', KEYS[5])
  end
elseif redis.call('SCARD', KEYS[5]) ~= tonumber(ARGV[6]) then
  return redis.error_reply('the taken seats changed since they were counted')
end
redis.call('DEL', KEYS[2], KEYS[3])
local tier_count, buyer_count = tonumber(ARGV[4]), tonumber(ARGV[5])
local first_buyer = 8 + 2 * tier_count
local first_taken = first_buyer + 2 * buyer_count
for i = 0, tier_count - 1 do
  local tier = ARGV[8 + 2 * i]
  redis.call('HSET', KEYS[2], tier, tonumber(ARGV[9 + 2 * i]) - (pending_by_tier[tier] or 0))
end
for i = first_buyer, first_taken - 1, 2 do
  pending_by_buyer[ARGV[i]] = (pending_by_buyer[ARGV[i]] or 0) + tonumber(ARGV[i + 1])
end
for buyer, n in pairs(pending_by_buyer) do
  if n > 0 then redis.call('HSET', KEYS[3], buyer, n) end
end
redis.call('HSET', KEYS[1], 'open_at', ARGV[1], 'close_at', ARGV[2], 'limit', ARGV[3])
return 1
",
    )
});

/// Times in the counters' keys and scripts: unix milliseconds.
pub fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The purchases admitted before `cutoff` and still pending.
pub async fn pending_before(
    redis: &RedisStore,
    event_id: Uuid,
    cutoff: OffsetDateTime,
) -> redis::RedisResult<Vec<Uuid>> {
    let entries: HashMap<String, String> = redis
        .connection()
        .hgetall(EventKeys::new(redis, event_id).pending)
        .await?;
    let cutoff = unix_ms(cutoff);
    Ok(entries
        .into_iter()
        .filter(|(_, entry)| {
            PendingEntry::parse(entry).is_some_and(|pending| pending.admitted_at_ms < cutoff)
        })
        .filter_map(|(purchase_id, _)| purchase_id.parse().ok())
        .collect())
}

/// A `pending` entry, `buyer|tier:n,tier:n|admitted_at_ms` (written by admission).
struct PendingEntry<'a> {
    buyer: &'a str,
    places_by_tier: Vec<(&'a str, i64)>,
    admitted_at_ms: i64,
}

impl<'a> PendingEntry<'a> {
    fn parse(entry: &'a str) -> Option<Self> {
        let mut fields = entry.split('|');
        let (buyer, parts, admitted_at) = (fields.next()?, fields.next()?, fields.next()?);
        let places_by_tier = parts
            .split(',')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let (tier, places) = part.split_once(':')?;
                Some((tier, places.parse().ok()?))
            })
            .collect::<Option<_>>()?;
        Some(Self {
            buyer,
            places_by_tier,
            admitted_at_ms: admitted_at.parse().ok()?,
        })
    }
}

/// Ends the pending state of decided purchases of one event, giving back the places of those
/// that did not use them. Idempotent.
pub async fn settle(
    redis: &RedisStore,
    event_id: Uuid,
    decided: &[(Uuid, Settlement)],
) -> redis::RedisResult<()> {
    if decided.is_empty() {
        return Ok(());
    }
    let keys = EventKeys::new(redis, event_id);
    let mut invocation = SETTLE.prepare_invoke();
    invocation
        .key(&keys.remaining)
        .key(&keys.buyers)
        .key(&keys.pending);
    for (purchase_id, settlement) in decided {
        let outcome = match settlement {
            Settlement::Used => "used",
            Settlement::GivenBack => "given_back",
        };
        invocation.arg(purchase_id.to_string()).arg(outcome);
    }
    invocation.invoke_async(&mut redis.connection()).await
}

/// Gives back the places of a hold that ended (expired, cancelled) after it was settled.
pub async fn release(
    redis: &RedisStore,
    event_id: Uuid,
    buyer_id: Uuid,
    places_by_tier: &[(Uuid, i64)],
    place_ids: &[Uuid],
) -> redis::RedisResult<()> {
    let keys = EventKeys::new(redis, event_id);
    let mut invocation = RELEASE.prepare_invoke();
    invocation
        .key(&keys.meta)
        .key(&keys.remaining)
        .key(&keys.buyers)
        .key(&keys.taken)
        .arg(buyer_id.to_string())
        .arg(places_by_tier.len());
    for (tier_id, places) in places_by_tier {
        invocation.arg(tier_id.to_string()).arg(*places);
    }
    for place_id in place_ids {
        invocation.arg(place_id.to_string());
    }
    invocation.invoke_async(&mut redis.connection()).await
}

/// Records chosen seats as taken, so that admission refuses them at once.
pub async fn mark_taken(
    redis: &RedisStore,
    event_id: Uuid,
    seat_ids: &[Uuid],
) -> redis::RedisResult<()> {
    if seat_ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = seat_ids.iter().map(Uuid::to_string).collect();
    redis
        .connection()
        .sadd(EventKeys::new(redis, event_id).taken, ids)
        .await
}

/// How many seats of the event Redis holds as taken.
pub async fn taken_seat_count(redis: &RedisStore, event_id: Uuid) -> redis::RedisResult<usize> {
    redis
        .connection()
        .scard(EventKeys::new(redis, event_id).taken)
        .await
}

/// Whether the event's counters exist (a flush removes them).
pub async fn is_built(redis: &RedisStore, event_id: Uuid) -> redis::RedisResult<bool> {
    redis
        .connection()
        .exists(EventKeys::new(redis, event_id).meta)
        .await
}

/// Writes the seat -> tier map admission reads; done before the counters, which make the
/// event admissible.
pub async fn write_seat_tiers(
    redis: &RedisStore,
    event_id: Uuid,
    seat_tiers: &[(Uuid, Uuid)],
) -> redis::RedisResult<()> {
    let key = EventKeys::new(redis, event_id).seats;
    let mut connection = redis.connection();
    for chunk in seat_tiers.chunks(5_000) {
        let pairs: Vec<(String, String)> = chunk
            .iter()
            .map(|(seat, tier)| (seat.to_string(), tier.to_string()))
            .collect();
        let () = connection.hset_multiple(&key, &pairs).await?;
    }
    Ok(())
}

/// What Postgres says of an event, for `reconcile`.
pub struct Truth<'a> {
    pub terms: SalesTerms,
    /// Places on sale per tier.
    pub available: &'a [(Uuid, i64)],
    /// Places held or owned per buyer.
    pub held: &'a [(Uuid, i64)],
    /// Seats held or sold.
    pub taken_seats: TakenSeats<'a>,
}

/// The seats held or sold, as far as a reconciliation needs them.
///
/// The set in Redis drifts from Postgres only by seats a failed step left in it (marked taken
/// by a reservation that did not commit, or not removed when a hold ended), which changes its
/// size; no step removes a seat that is still taken. So when Redis holds as many seats as
/// Postgres, the set is right and is kept: a large venue's seats are neither read nor
/// written again at every reconciliation.
#[derive(Debug, Clone, Copy)]
pub enum TakenSeats<'a> {
    /// Redis holds this many, as Postgres does: keep the set.
    Kept(usize),
    /// Replace the set with these.
    Rewritten(&'a [Uuid]),
}

impl TakenSeats<'_> {
    fn count(&self) -> usize {
        match self {
            TakenSeats::Kept(count) => *count,
            TakenSeats::Rewritten(seats) => seats.len(),
        }
    }
}

/// Seats staged per command: each is a short step for Redis, whatever the venue's size.
const STAGED_SEATS_PER_COMMAND: usize = 1_000;
/// A staged set left by a reconciliation that died half-way goes away by itself.
const STAGED_SEATS_TTL_SECONDS: i64 = 300;

/// What a reconciliation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconciled {
    /// Redis already said what Postgres says: nothing was written.
    Agreed,
    /// The counters were written from Postgres' numbers.
    Rewritten,
}

/// Makes the counters say what Postgres says, keeping out what pending purchases took, and
/// makes the event admissible.
///
/// They are read first, and rewritten only if they differ: the rewrite is a script that holds
/// Redis (and so every admission) for milliseconds on an event with thousands of buyers,
/// while reading them is a few plain commands, and the counters are almost always right.
pub async fn reconcile(
    redis: &RedisStore,
    event_id: Uuid,
    truth: &Truth<'_>,
) -> redis::RedisResult<Reconciled> {
    let keys = EventKeys::new(redis, event_id);
    if let TakenSeats::Kept(taken_count) = truth.taken_seats {
        // One transaction: an admission moves places from `remaining` to `pending` (and onto
        // `buyers`) atomically, so the snapshot balances whenever the counters are right.
        let (meta, remaining, buyers, pending, taken): Snapshot = redis::pipe()
            .atomic()
            .hgetall(&keys.meta)
            .hgetall(&keys.remaining)
            .hgetall(&keys.buyers)
            .hgetall(&keys.pending)
            .scard(&keys.taken)
            .query_async(&mut redis.connection())
            .await?;
        let current = Counters {
            meta: &meta,
            remaining: &remaining,
            buyers: &buyers,
            pending: &pending,
        };
        if taken == taken_count && current.agree_with(truth) {
            return Ok(Reconciled::Agreed);
        }
    }
    rewrite(redis, &keys, truth).await?;
    Ok(Reconciled::Rewritten)
}

type Snapshot = (
    HashMap<String, String>,
    HashMap<String, i64>,
    HashMap<String, i64>,
    HashMap<String, String>,
    usize,
);

/// An event's counters as read from Redis.
struct Counters<'a> {
    meta: &'a HashMap<String, String>,
    remaining: &'a HashMap<String, i64>,
    buyers: &'a HashMap<String, i64>,
    pending: &'a HashMap<String, String>,
}

impl Counters<'_> {
    /// Whether these are what `RECONCILE` would write for `truth`: the terms, and per tier and
    /// per buyer Postgres' places with the pending purchases' on top.
    fn agree_with(&self, truth: &Truth<'_>) -> bool {
        let terms = truth.terms;
        let close_at = terms.close_at.map(unix_ms).map(|ms| ms.to_string());
        let terms_agree = self.meta.get("open_at") == Some(&unix_ms(terms.open_at).to_string())
            && self.meta.get("close_at").map(String::as_str)
                == Some(close_at.as_deref().unwrap_or(""))
            && self.meta.get("limit") == Some(&terms.per_buyer_limit.to_string());
        if !terms_agree {
            return false;
        }
        let mut pending_by_tier: HashMap<&str, i64> = HashMap::new();
        let mut expected_buyers: HashMap<&str, i64> = HashMap::new();
        for entry in self.pending.values() {
            let Some(pending) = PendingEntry::parse(entry) else {
                return false;
            };
            for (tier, places) in pending.places_by_tier {
                *pending_by_tier.entry(tier).or_default() += places;
                *expected_buyers.entry(pending.buyer).or_default() += places;
            }
        }
        let tiers_agree = self.remaining.len() == truth.available.len()
            && truth.available.iter().all(|(tier_id, available)| {
                let tier = tier_id.to_string();
                let pending = pending_by_tier.get(tier.as_str()).copied().unwrap_or(0);
                self.remaining.get(&tier) == Some(&(available - pending))
            });
        if !tiers_agree {
            return false;
        }
        let held: Vec<(String, i64)> = truth
            .held
            .iter()
            .map(|(buyer_id, places)| (buyer_id.to_string(), *places))
            .collect();
        for (buyer, places) in &held {
            *expected_buyers.entry(buyer.as_str()).or_default() += places;
        }
        // The script writes a buyer only with places; one without may be absent or 0.
        let expected = |buyer: &str| expected_buyers.get(buyer).copied().unwrap_or(0).max(0);
        let actual = |buyer: &str| self.buyers.get(buyer).copied().unwrap_or(0);
        expected_buyers
            .keys()
            .copied()
            .chain(self.buyers.keys().map(String::as_str))
            .all(|buyer| expected(buyer) == actual(buyer))
    }
}

/// Writes the counters from Postgres' numbers (see `RECONCILE`).
async fn rewrite(
    redis: &RedisStore,
    keys: &EventKeys,
    truth: &Truth<'_>,
) -> redis::RedisResult<()> {
    // In the event's hash slot, like its other keys.
    let staged_taken = format!("{}:staged:{}", keys.taken, Uuid::now_v7());
    let mut connection = redis.connection();
    if let TakenSeats::Rewritten(seats) = truth.taken_seats
        && !seats.is_empty()
    {
        let mut staging = redis::pipe();
        for chunk in seats.chunks(STAGED_SEATS_PER_COMMAND) {
            let members: Vec<String> = chunk.iter().map(Uuid::to_string).collect();
            staging.sadd(&staged_taken, members).ignore();
        }
        staging
            .expire(&staged_taken, STAGED_SEATS_TTL_SECONDS)
            .ignore();
        let () = staging.query_async(&mut connection).await?;
    }
    let terms = truth.terms;
    let mut invocation = RECONCILE.prepare_invoke();
    invocation
        .key(&keys.meta)
        .key(&keys.remaining)
        .key(&keys.buyers)
        .key(&keys.pending)
        .key(&keys.taken)
        .key(&staged_taken)
        .arg(unix_ms(terms.open_at))
        .arg(
            terms
                .close_at
                .map(unix_ms)
                .map(|ms| ms.to_string())
                .unwrap_or_default(),
        )
        .arg(terms.per_buyer_limit)
        .arg(truth.available.len())
        .arg(truth.held.len())
        .arg(truth.taken_seats.count())
        .arg(u8::from(matches!(
            truth.taken_seats,
            TakenSeats::Rewritten(_)
        )));
    for (tier_id, places) in truth.available {
        invocation.arg(tier_id.to_string()).arg(*places);
    }
    for (buyer_id, places) in truth.held {
        invocation.arg(buyer_id.to_string()).arg(*places);
    }
    invocation.invoke_async(&mut connection).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_entry_reads_as_admission_writes_it() {
        let entry = PendingEntry::parse("b1|t1:2,t2:1|1764840000000").expect("an entry");
        assert_eq!(entry.buyer, "b1");
        assert_eq!(entry.places_by_tier, [("t1", 2), ("t2", 1)]);
        assert_eq!(entry.admitted_at_ms, 1_764_840_000_000);
    }

    #[test]
    fn a_malformed_pending_entry_is_refused_whole() {
        for entry in ["b1|t1:2", "b1|t1:x|1", "b1|t1|1", "b1|t1:2|soon"] {
            assert!(PendingEntry::parse(entry).is_none(), "{entry}");
        }
    }
}
