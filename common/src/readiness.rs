//! Readiness probes: each dependency a service needs gets a named check, and `/readyz` runs
//! them all concurrently with a timeout. The service is ready only when every check passes.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use contracts::ops::{DependencyCheck, DependencyStatus, ReadinessReport, ReadinessStatus};
use futures::future::{BoxFuture, join_all};
use tokio::time::Instant;

type CheckFn = Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// The dependency checks of one service.
#[derive(Clone)]
pub struct Readiness {
    service: &'static str,
    check_timeout: Duration,
    checks: Vec<(&'static str, CheckFn)>,
}

impl Readiness {
    pub fn new(service: &'static str) -> Self {
        Self {
            service,
            check_timeout: Duration::from_secs(2),
            checks: Vec::new(),
        }
    }

    /// Adds a check named `name` (`postgres`, `redis`, `rabbitmq`, `s3`) that runs `check` on a
    /// clone of `dependency`.
    pub fn with<D, F, Fut>(mut self, name: &'static str, dependency: D, check: F) -> Self
    where
        D: Clone + Send + Sync + 'static,
        F: Fn(D) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let check = Arc::new(check);
        let run: CheckFn = Arc::new(move || {
            let dependency = dependency.clone();
            let check = Arc::clone(&check);
            Box::pin(async move { check(dependency).await })
        });
        self.checks.push((name, run));
        self
    }

    /// Runs every check at once; a check that does not answer within the timeout is down.
    pub async fn report(&self) -> ReadinessReport {
        let runs = self.checks.iter().map(|(name, check)| async move {
            let started = Instant::now();
            let outcome = tokio::time::timeout(self.check_timeout, check()).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let error = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(format!("{error:#}")),
                Err(_) => Some(format!("no answer within {:?}", self.check_timeout)),
            };
            let status = match error {
                None => DependencyStatus::Up,
                Some(_) => DependencyStatus::Down,
            };
            (
                name.to_string(),
                DependencyCheck {
                    status,
                    latency_ms,
                    error,
                },
            )
        });
        let dependencies: BTreeMap<_, _> = join_all(runs).await.into_iter().collect();
        let all_up = dependencies
            .values()
            .all(|check| check.status == DependencyStatus::Up);
        ReadinessReport {
            service: self.service.to_owned(),
            status: if all_up {
                ReadinessStatus::Ready
            } else {
                ReadinessStatus::NotReady
            },
            dependencies,
        }
    }
}

/// The standard checks, named the same in every service.
impl Readiness {
    pub fn postgres(self, database: &crate::postgres::Database) -> Self {
        self.with("postgres", database.clone(), |database| async move {
            database.check().await
        })
    }

    pub fn redis(self, redis: &crate::redis::RedisStore) -> Self {
        self.with("redis", redis.clone(), |redis| async move {
            redis.check().await
        })
    }

    pub fn rabbitmq(self, broker: &crate::amqp::Broker) -> Self {
        self.with("rabbitmq", broker.clone(), |broker| async move {
            broker.check().await
        })
    }

    /// Creates the bucket if it is missing, so that a store that came up late heals by itself.
    pub fn s3(self, store: &crate::s3::ObjectStore) -> Self {
        self.with("s3", store.clone(), |store| async move {
            store.ensure_bucket().await
        })
    }
}
