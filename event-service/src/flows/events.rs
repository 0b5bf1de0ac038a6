//! Drafting, editing and publishing events, and reading the catalog.

use common::{
    amqp::{ExchangeRole, outbox},
    http::pagination::{Cursor, Page},
};
use contracts::{
    Envelope,
    events::{
        CreateEventRequest, Event, EventCancelledV1, EventPage, EventPublishedV1, EventRepricedV1,
        EventStatus, TierPrice, UpdateEventRequest,
    },
};
use uuid::Uuid;

use super::{Deps, EventError};
use crate::{
    domain::{EventDraft, EventText, FieldErrors, check_schedule, resolve_tiers},
    storage::{
        events::{self, CatalogFilter},
        venues,
    },
};

#[tracing::instrument(skip_all, fields(%organiser_id))]
pub async fn create_event(
    deps: &Deps,
    organiser_id: Uuid,
    request: CreateEventRequest,
) -> Result<Event, EventError> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    // Someone else's venue is as good as missing: 404, telling nothing about it.
    if venues::find_venue_owner(&transaction, request.venue_id).await? != Some(organiser_id) {
        return Err(EventError::NotFound);
    }
    let layout = venues::find_layout(&transaction, request.venue_id).await?;
    let mut errors = FieldErrors::new();
    let text = EventText::parse(
        &mut errors,
        &request.title,
        &request.description,
        &request.category,
    );
    let draft = EventDraft::parse(
        &mut errors,
        request.starts_at,
        request.sales_open_at,
        request.sales_close_at,
        request.per_buyer_limit,
        &request.tiers,
        &layout,
    );
    if !errors.is_empty() {
        return Err(EventError::Invalid(errors));
    }
    let event_id =
        events::insert_event(&transaction, organiser_id, request.venue_id, &text, &draft).await?;
    events::replace_tiers(&transaction, event_id, &draft.tiers).await?;
    transaction.commit().await?;
    tracing::info!(%event_id, "event drafted");
    load(deps, event_id).await
}

/// Text changes at any time; schedule, limit and tiers only while a draft (409 after).
#[tracing::instrument(skip_all, fields(%organiser_id, %event_id))]
pub async fn update_event(
    deps: &Deps,
    organiser_id: Uuid,
    event_id: Uuid,
    request: UpdateEventRequest,
) -> Result<Event, EventError> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let locked = lock_owned_event(&transaction, event_id, organiser_id).await?;
    let changes_inventory_or_schedule = request.starts_at.is_some()
        || request.sales_open_at.is_some()
        || request.per_buyer_limit.is_some()
        || request.tiers.is_some();
    if locked.status == EventStatus::Cancelled {
        return Err(EventError::Cancelled);
    }
    if locked.status == EventStatus::Published && changes_inventory_or_schedule {
        return Err(EventError::Published);
    }
    let current = load_one(&transaction, event_id).await?;
    let mut errors = FieldErrors::new();
    let text = EventText::parse(
        &mut errors,
        request.title.as_deref().unwrap_or(&current.title),
        request
            .description
            .as_deref()
            .unwrap_or(&current.description),
        request.category.as_deref().unwrap_or(&current.category),
    );
    let schedule = events::LockedEvent {
        starts_at: request.starts_at.unwrap_or(locked.starts_at),
        sales_open_at: request.sales_open_at.unwrap_or(locked.sales_open_at),
        per_buyer_limit: request.per_buyer_limit.unwrap_or(locked.per_buyer_limit),
        ..locked.clone()
    };
    check_schedule(
        &mut errors,
        schedule.starts_at,
        schedule.sales_open_at,
        schedule.sales_close_at,
        schedule.per_buyer_limit,
    );
    let tiers = match &request.tiers {
        Some(tiers) => {
            let layout = venues::find_layout(&transaction, locked.venue_id).await?;
            Some(resolve_tiers(&mut errors, tiers, &layout))
        }
        None => None,
    };
    if !errors.is_empty() {
        return Err(EventError::Invalid(errors));
    }
    events::update_text(&transaction, event_id, &text).await?;
    if changes_inventory_or_schedule {
        events::update_schedule(&transaction, event_id, &schedule).await?;
    }
    if let Some(tiers) = tiers {
        events::replace_tiers(&transaction, event_id, &tiers).await?;
    }
    if let Some(prices) = request.tier_prices.filter(|prices| !prices.is_empty()) {
        reprice(&transaction, event_id, locked.status, prices).await?;
    }
    transaction.commit().await?;
    deps.outbox.wake();
    load(deps, event_id).await
}

/// Sets tier prices; once published, tells order-service through the outbox, in the same
/// transaction, so that new reservations use them.
async fn reprice(
    transaction: &deadpool_postgres::Transaction<'_>,
    event_id: Uuid,
    status: EventStatus,
    prices: Vec<TierPrice>,
) -> Result<(), EventError> {
    let mut errors = FieldErrors::new();
    for (index, price) in prices.iter().enumerate() {
        if price.price_minor < 0 {
            errors.insert(
                format!("tier_prices[{index}].price_minor"),
                "must not be negative".to_owned(),
            );
        } else if !events::update_tier_price(
            transaction,
            event_id,
            price.tier_id,
            price.price_minor,
        )
        .await?
        {
            errors.insert(
                format!("tier_prices[{index}].tier_id"),
                "is not a tier of this event".to_owned(),
            );
        }
    }
    if !errors.is_empty() {
        return Err(EventError::Invalid(errors));
    }
    if status == EventStatus::Published {
        let message = Envelope::new(Uuid::now_v7(), EventRepricedV1 { event_id, prices });
        outbox::enqueue(transaction, ExchangeRole::Events, &message).await?;
    }
    Ok(())
}

/// Cancels a published event: it leaves the catalog, and `event.cancelled` goes through the
/// outbox in the same transaction, for order-service to stop sales and refund every order.
/// Cancelling a cancelled event changes nothing.
#[tracing::instrument(skip_all, fields(%organiser_id, %event_id))]
pub async fn cancel_event(
    deps: &Deps,
    organiser_id: Uuid,
    event_id: Uuid,
) -> Result<Event, EventError> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let locked = lock_owned_event(&transaction, event_id, organiser_id).await?;
    match locked.status {
        EventStatus::Draft => return Err(EventError::NotPublished),
        EventStatus::Cancelled => {}
        EventStatus::Published => {
            let cancelled_at = events::mark_cancelled(&transaction, event_id).await?;
            let message = Envelope::new(
                Uuid::now_v7(),
                EventCancelledV1 {
                    event_id,
                    organiser_id,
                    cancelled_at,
                },
            );
            outbox::enqueue(&transaction, ExchangeRole::Events, &message).await?;
            transaction.commit().await?;
            deps.outbox.wake();
            tracing::info!("event cancelled");
        }
    }
    load(deps, event_id).await
}

/// Publishes a draft: the event and its frozen inventory go out as `event.published` through
/// the outbox, in the same transaction. Publishing a published event changes nothing.
#[tracing::instrument(skip_all, fields(%organiser_id, %event_id))]
pub async fn publish_event(
    deps: &Deps,
    organiser_id: Uuid,
    event_id: Uuid,
) -> Result<Event, EventError> {
    let mut client = deps.database.pool().get().await?;
    let transaction = client.transaction().await?;
    let locked = lock_owned_event(&transaction, event_id, organiser_id).await?;
    if locked.status == EventStatus::Draft {
        events::mark_published(&transaction, event_id).await?;
        let tiers = events::published_inventory(&transaction, event_id).await?;
        let message = Envelope::new(
            Uuid::now_v7(),
            EventPublishedV1 {
                event_id,
                organiser_id,
                sales_open_at: locked.sales_open_at,
                sales_close_at: locked.sales_close_at,
                per_buyer_limit: locked.per_buyer_limit,
                tiers,
            },
        );
        outbox::enqueue(&transaction, ExchangeRole::Events, &message).await?;
        transaction.commit().await?;
        deps.outbox.wake();
        tracing::info!("event published");
    }
    load(deps, event_id).await
}

/// A published event, or a draft to its owner; anything else is not found.
pub async fn event(deps: &Deps, viewer: Option<Uuid>, event_id: Uuid) -> Result<Event, EventError> {
    let event = load(deps, event_id).await?;
    // A cancelled event stays visible: its ticket holders must be able to see that it is.
    let visible = event.status != EventStatus::Draft || viewer == Some(event.organiser_id);
    if visible {
        Ok(event)
    } else {
        Err(EventError::NotFound)
    }
}

pub async fn catalog(
    deps: &Deps,
    filter: &CatalogFilter<'_>,
    page: Page,
) -> Result<EventPage, EventError> {
    let client = deps.database.pool().get().await?;
    let after = page
        .after
        .map(|cursor| (cursor.score, cursor.at, cursor.id));
    let hits = events::list_published(&client, filter, after, page.fetch_limit()).await?;
    let (hits, next_cursor) = page.finish(hits, |hit| Cursor {
        score: hit.rank,
        at: hit.starts_at,
        id: hit.id,
    });
    let ids: Vec<Uuid> = hits.iter().map(|hit| hit.id).collect();
    let items = events::load_events(&client, &ids).await?;
    Ok(EventPage { items, next_cursor })
}

/// The event locked for a change, if `organiser_id` owns it; someone else's is as missing.
async fn lock_owned_event(
    transaction: &deadpool_postgres::Transaction<'_>,
    event_id: Uuid,
    organiser_id: Uuid,
) -> Result<events::LockedEvent, EventError> {
    events::lock_event(transaction, event_id)
        .await?
        .filter(|event| event.organiser_id == organiser_id)
        .ok_or(EventError::NotFound)
}

async fn load(deps: &Deps, event_id: Uuid) -> Result<Event, EventError> {
    let client = deps.database.pool().get().await?;
    load_one(&client, event_id).await
}

async fn load_one(
    client: &impl deadpool_postgres::GenericClient,
    event_id: Uuid,
) -> Result<Event, EventError> {
    events::load_events(client, &[event_id])
        .await?
        .pop()
        .ok_or(EventError::NotFound)
}
