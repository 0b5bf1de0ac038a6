//! Publishing with confirms, consuming with acks, and the dead-letter path.

use std::time::Duration;

use common::{
    amqp::{
        BatchConsumerSpec, Broker, ConsumerSpec, ExchangeRole, HandlerError, OutgoingMessage,
        QueueSpec, Topology, decode, spawn_batch_consumer, spawn_consumer,
    },
    config::AmqpConfig,
    test_support::{TestContext, eventually, queue_depth},
};
use contracts::{Envelope, Message};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ProbeHappened {
    number: u32,
}

impl Message for ProbeHappened {
    const TYPE: &'static str = "probe.happened";
    const VERSION: u16 = 1;
}

fn probe_topology(amqp: &AmqpConfig) -> Topology {
    Topology::new(&amqp.namespace, amqp.delivery_limit)
        .with_queue(QueueSpec::new("probes").bind(ExchangeRole::Events, ProbeHappened::TYPE))
}

async fn publish(broker: &Broker, routing_key: &str, body: &[u8]) {
    broker
        .publish(OutgoingMessage {
            exchange: ExchangeRole::Events,
            routing_key,
            message_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            body,
        })
        .await
        .expect("the broker confirms the message");
}

async fn start(context: &TestContext, amqp: AmqpConfig) -> (Broker, CancellationToken) {
    let topology = probe_topology(&amqp);
    context.track_topology(&topology);
    let shutdown = CancellationToken::new();
    (
        Broker::start(amqp, topology, shutdown.clone()).await,
        shutdown,
    )
}

#[tokio::test]
async fn a_confirmed_message_is_consumed_and_acked() {
    let context = TestContext::new();
    let (broker, shutdown) = start(&context, context.amqp()).await;
    let (received, mut inbox) = mpsc::channel(8);
    let consumer = spawn_consumer(
        broker.clone(),
        ConsumerSpec {
            queue: "probes".to_owned(),
            prefetch_count: 8,
        },
        move |delivery| {
            let received = received.clone();
            async move {
                let envelope = decode::<ProbeHappened>(&delivery)?;
                received
                    .send(envelope)
                    .await
                    .map_err(|error| HandlerError::Transient(error.into()))
            }
        },
        shutdown.clone(),
    );
    let sent = Envelope::new(Uuid::now_v7(), ProbeHappened { number: 7 });

    publish(
        &broker,
        ProbeHappened::TYPE,
        &serde_json::to_vec(&sent).expect("serialises"),
    )
    .await;

    let got = tokio::time::timeout(Duration::from_secs(10), inbox.recv())
        .await
        .expect("the message arrives")
        .expect("the consumer is running");
    assert_eq!(got, sent);
    shutdown.cancel();
    consumer.await.expect("the consumer stops cleanly");
    let queue = broker.topology().queue("probes");
    assert_eq!(
        queue_depth(&context.amqp(), &queue).await.expect("depth"),
        0
    );
}

#[tokio::test]
async fn a_malformed_message_is_dead_lettered_without_blocking_the_next_one() {
    let context = TestContext::new();
    let (broker, shutdown) = start(&context, context.amqp()).await;
    let (received, mut inbox) = mpsc::channel(8);
    let _consumer = spawn_consumer(
        broker.clone(),
        ConsumerSpec {
            queue: "probes".to_owned(),
            prefetch_count: 1,
        },
        move |delivery| {
            let received = received.clone();
            async move {
                let envelope = decode::<ProbeHappened>(&delivery)?;
                received
                    .send(envelope.payload.number)
                    .await
                    .map_err(|error| HandlerError::Transient(error.into()))
            }
        },
        shutdown.clone(),
    );
    let good = Envelope::new(Uuid::now_v7(), ProbeHappened { number: 2 });

    publish(&broker, ProbeHappened::TYPE, b"{not json").await;
    publish(
        &broker,
        ProbeHappened::TYPE,
        &serde_json::to_vec(&good).expect("serialises"),
    )
    .await;

    let got = tokio::time::timeout(Duration::from_secs(10), inbox.recv())
        .await
        .expect("the good message still arrives");
    assert_eq!(got, Some(2));
    let dead_letters = broker.topology().dead_letter_queue();
    let amqp = context.amqp();
    assert!(
        eventually(Duration::from_secs(10), || async {
            queue_depth(&amqp, &dead_letters).await.ok() == Some(1)
        })
        .await,
        "the malformed message is in the dead-letter queue"
    );
}

#[tokio::test]
async fn batches_finishing_out_of_order_are_all_acked_once_and_failures_settled_alone() {
    let context = TestContext::new();
    let (broker, shutdown) = start(&context, context.amqp()).await;
    let handled = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));
    let seen = handled.clone();
    let consumer = spawn_batch_consumer(
        broker.clone(),
        BatchConsumerSpec {
            queue: "probes".to_owned(),
            prefetch_count: 40,
            max_batch: 5,
            concurrent_batches: 4,
        },
        move |deliveries| {
            let seen = seen.clone();
            async move {
                // Batches holding a small number take longest, so later batches finish
                // first and their acks have to wait for (and be covered by) older ones.
                let numbers: Vec<Option<u32>> = deliveries
                    .iter()
                    .map(|delivery| {
                        decode::<ProbeHappened>(delivery)
                            .ok()
                            .map(|envelope| envelope.payload.number)
                    })
                    .collect();
                let smallest = numbers.iter().flatten().min().copied().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(u64::from(
                    200_u32.saturating_sub(smallest * 4),
                )))
                .await;
                let mut outcomes = Vec::new();
                for (delivery, number) in deliveries.iter().zip(numbers) {
                    outcomes.push(match number {
                        None => decode::<ProbeHappened>(delivery).map(|_| ()),
                        Some(13) if !delivery.redelivered => {
                            Err(HandlerError::Transient(anyhow::anyhow!("try again")))
                        }
                        Some(number) => {
                            seen.lock().expect("not poisoned").push(number);
                            Ok(())
                        }
                    });
                }
                outcomes
            }
        },
        shutdown.clone(),
    );
    for number in 0..50_u32 {
        if number == 27 {
            publish(&broker, ProbeHappened::TYPE, b"{not json").await;
        }
        let envelope = Envelope::new(Uuid::now_v7(), ProbeHappened { number });
        publish(
            &broker,
            ProbeHappened::TYPE,
            &serde_json::to_vec(&envelope).expect("serialises"),
        )
        .await;
    }

    assert!(
        eventually(Duration::from_secs(20), || async {
            handled.lock().expect("not poisoned").len() >= 50
        })
        .await,
        "every readable message is handled"
    );
    shutdown.cancel();
    consumer.await.expect("the consumer stops cleanly");

    // Each handled exactly once: an ack naming a tag already covered would have closed the
    // channel and had the others delivered again.
    let mut numbers = handled.lock().expect("not poisoned").clone();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..50).collect::<Vec<u32>>());
    // Closing the channel returns whatever was left unacked: nothing was.
    let amqp = context.amqp();
    let queue = broker.topology().queue("probes");
    assert_eq!(queue_depth(&amqp, &queue).await.expect("depth"), 0);
    let dead_letters = broker.topology().dead_letter_queue();
    assert_eq!(queue_depth(&amqp, &dead_letters).await.expect("depth"), 1);
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_dead_lettered_after_the_delivery_limit() {
    let context = TestContext::new();
    let amqp = AmqpConfig {
        delivery_limit: 2,
        ..context.amqp()
    };
    let (broker, shutdown) = start(&context, amqp.clone()).await;
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = attempts.clone();
    let _consumer = spawn_consumer(
        broker.clone(),
        ConsumerSpec {
            queue: "probes".to_owned(),
            prefetch_count: 1,
        },
        move |_delivery| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Err(HandlerError::Transient(anyhow::anyhow!("dependency down"))) }
        },
        shutdown.clone(),
    );
    let sent = Envelope::new(Uuid::now_v7(), ProbeHappened { number: 3 });

    publish(
        &broker,
        ProbeHappened::TYPE,
        &serde_json::to_vec(&sent).expect("serialises"),
    )
    .await;

    let dead_letters = broker.topology().dead_letter_queue();
    assert!(
        eventually(Duration::from_secs(15), || async {
            queue_depth(&amqp, &dead_letters).await.ok() == Some(1)
        })
        .await,
        "the message ends in the dead-letter queue"
    );
    // The first delivery plus `delivery_limit` redeliveries, and never more: it cannot loop.
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn publishing_while_the_broker_is_unreachable_fails_instead_of_pretending() {
    let context = TestContext::new();
    let amqp = AmqpConfig {
        url: common::config::Secret::new("amqp://guest:guest@127.0.0.1:1/%2f".to_owned()),
        ..context.amqp()
    };
    let shutdown = CancellationToken::new();
    let broker = Broker::start(amqp.clone(), probe_topology(&amqp), shutdown.clone()).await;

    let outcome = broker
        .publish(OutgoingMessage {
            exchange: ExchangeRole::Events,
            routing_key: ProbeHappened::TYPE,
            message_id: Uuid::now_v7(),
            correlation_id: Uuid::now_v7(),
            body: b"{}",
        })
        .await;

    assert!(outcome.is_err());
    assert!(broker.check().await.is_err());
    shutdown.cancel();
}
