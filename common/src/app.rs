//! The running shape every service shares: a bound listener, the router, background tasks
//! (consumers, relays, sweepers) and the broker, stopped in that order on shutdown so that
//! in-flight requests and messages finish before connections close.

use axum::Router;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{amqp::Broker, config::HttpConfig};

pub struct App {
    name: &'static str,
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    background: Vec<JoinHandle<()>>,
    broker: Option<Broker>,
}

impl App {
    /// Binds the listener now, so that the port is known (tests use port 0) before serving.
    pub async fn bind(
        name: &'static str,
        http: &HttpConfig,
        router: Router,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((http.host, http.port)).await?;
        Ok(Self {
            name,
            listener,
            router,
            shutdown,
            background: Vec::new(),
            broker: None,
        })
    }

    /// A task that must end by itself once the shutdown token fires.
    pub fn with_task(mut self, task: JoinHandle<()>) -> Self {
        self.background.push(task);
        self
    }

    /// The broker to close last, after every task that publishes or acks has ended.
    pub fn with_broker(mut self, broker: Broker) -> Self {
        self.broker = Some(broker);
        self
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map_or(0, |address| address.port())
    }

    /// Serves until the shutdown token fires, then drains everything and returns.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let address = self.listener.local_addr()?;
        tracing::info!(service = self.name, %address, "listening");
        crate::http::serve(self.listener, self.router, self.shutdown.clone()).await?;
        for task in self.background {
            if let Err(error) = task.await {
                tracing::error!(%error, "a background task panicked");
            }
        }
        if let Some(broker) = self.broker {
            broker.close().await;
        }
        tracing::info!(service = self.name, "stopped");
        Ok(())
    }
}
