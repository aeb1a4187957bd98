//! The HTTP server: mounts the GraphQL schema, GraphiQL and the health endpoints on poem.

use async_graphql::http::GraphiQLSource;
use async_graphql_poem::GraphQL;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::middleware::Tracing;
use poem::web::Html;
use poem::{EndpointExt, Route, Server, get, handler};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::graphql::{GraphqlServices, NagareSchema, build_schema};
use crate::health::{self, Readiness};
use crate::{CommandBus, Error, GatewayConfig, GatewayDeps, HealthDeps, Result};

/// Serves the gateway on `listener` until `shutdown` is cancelled; then stops accepting,
/// lets in-flight requests finish (up to `config.drain_timeout()`), stops listening for
/// replies and returns.
pub async fn serve(
    listener: TcpListener,
    deps: GatewayDeps,
    config: GatewayConfig,
    shutdown: CancellationToken,
) -> Result<()> {
    // The reply listener outlives the HTTP server, so draining mutations still get replies.
    let bus_shutdown = CancellationToken::new();
    let bus = CommandBus::start(deps.log.clone(), deps.topics.clone(), bus_shutdown.clone())
        .await?
        .with_reply_timeout(config.command_timeout);
    bus.accept_handoff(&deps.reply_handoff);
    let schema = build_schema(GraphqlServices {
        read_models: deps.read_models.clone(),
        commands: bus.clone(),
        progress: deps.progress.clone(),
        consistency_timeout: config.consistency_timeout,
    });
    let readiness = Readiness {
        log: deps.log,
        store: Some(deps.store),
        bus: Some(bus.clone()),
        topics: deps.topics,
        roles: config.roles.clone(),
        role_checks: deps.role_checks,
    };

    let acceptor = TcpAcceptor::from_tokio(listener).map_err(Error::Http)?;
    let addresses: Vec<String> = acceptor.local_addr().iter().map(ToString::to_string).collect();
    tracing::info!(addresses = ?addresses, "gateway serving GraphQL on /graphql");
    let served = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(
            routes(schema, readiness),
            shutdown.cancelled_owned(),
            Some(config.drain_timeout()),
        )
        .await;

    bus_shutdown.cancel();
    bus.stopped().await;
    tracing::info!("gateway stopped");
    served.map_err(Error::Http)
}

/// Serves `/health/live` and `/health/ready` alone, for a process without the gateway role (a
/// command processor), so an orchestrator can probe it: ready once the log answers and the
/// process's roles are ready (`role_checks`). Stops when `shutdown` is cancelled.
pub async fn serve_health(
    listener: TcpListener,
    health: HealthDeps,
    shutdown: CancellationToken,
) -> Result<()> {
    let readiness = Readiness {
        log: health.log,
        store: None,
        bus: None,
        topics: health.topics,
        roles: health.roles,
        role_checks: health.role_checks,
    };
    let acceptor = TcpAcceptor::from_tokio(listener).map_err(Error::Http)?;
    let routes = Route::new()
        .at("/health/live", get(health::live))
        .at("/health/ready", get(health::ready))
        .data(readiness)
        .with(Tracing);
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(routes, shutdown.cancelled_owned(), None)
        .await
        .map_err(Error::Http)
}

fn routes(schema: NagareSchema, readiness: Readiness) -> impl poem::Endpoint {
    Route::new()
        .at("/graphql", get(graphiql).post(GraphQL::new(schema)))
        .at("/health/live", get(health::live))
        .at("/health/ready", get(health::ready))
        .data(readiness)
        .with(Tracing)
}

#[handler]
fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").title("Nagare GraphQL").finish())
}
