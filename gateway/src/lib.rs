//! Nagare's gateway: the poem server in front of the platform.
//!
//! - [`graphql`] is the GraphQL API of `API.md` (queries over the read models, mutations that
//!   become commands). It knows nothing of HTTP, so it can be executed directly in tests.
//! - [`command_bus`] sends commands to the commands topic and waits for the command processor's
//!   replies on this instance's replies partition.
//! - [`serve`] mounts the schema on poem with GraphiQL and the health endpoints, and shuts down
//!   gracefully.

pub mod command_bus;
mod config;
mod error;
pub mod graphql;
mod health;
mod server;

pub use command_bus::CommandBus;
pub use config::{GatewayConfig, GatewayDeps, HealthDeps, RoleCheck};
pub use error::{Error, Result};
pub use graphql::schema_sdl;
pub use server::{serve, serve_health};
