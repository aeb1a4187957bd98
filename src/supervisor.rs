//! Runs the roles as tasks and stops them in order.
//!
//! A process must never keep running half its roles: when any role ends before it was asked to
//! (an error, a panic, or an early return), every other role is stopped and the process exits
//! with an error. On a stop request the roles stop one after the other, in [`Role`] order, so
//! the gateway stops taking requests while the processor can still answer the ones in flight,
//! and the projections flush last.

use std::future::Future;
use std::time::Duration;

use anyhow::anyhow;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cli::Role;

/// How long one role may take to finish its work after it was asked to stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the roles are being stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    StopRequested,
    RoleExited(Role),
}

#[derive(Debug)]
struct RoleTask {
    role: Role,
    stop: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
}

/// Reports a role's end when dropped, which also happens when the role's task panics.
#[derive(Debug)]
struct ExitNotice {
    role: Role,
    exited: mpsc::UnboundedSender<Role>,
}

impl Drop for ExitNotice {
    fn drop(&mut self) {
        // The receiver only goes away when the supervisor is gone, and then nobody listens.
        let _ = self.exited.send(self.role);
    }
}

/// The running roles of this process.
#[derive(Debug)]
pub(crate) struct Supervisor {
    tasks: Vec<RoleTask>,
    exited_tx: mpsc::UnboundedSender<Role>,
    exited_rx: mpsc::UnboundedReceiver<Role>,
}

impl Default for Supervisor {
    fn default() -> Self {
        let (exited_tx, exited_rx) = mpsc::unbounded_channel();
        Self { tasks: Vec::new(), exited_tx, exited_rx }
    }
}

impl Supervisor {
    /// Starts a role. `start` receives the token that asks the role to stop.
    pub(crate) fn spawn<F>(&mut self, role: Role, start: impl FnOnce(CancellationToken) -> F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let stop = CancellationToken::new();
        let running = start(stop.clone());
        let notice = ExitNotice { role, exited: self.exited_tx.clone() };
        let handle = tokio::spawn(async move {
            let _notice = notice;
            running.await
        });
        self.tasks.push(RoleTask { role, stop, handle });
    }

    /// Waits for `stop_requested` or for a role to end, then stops every role in order.
    /// `Ok` only when the stop was requested and every role finished cleanly.
    pub(crate) async fn run_until(
        mut self,
        stop_requested: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let trigger = tokio::select! {
            () = stop_requested => Trigger::StopRequested,
            Some(role) = self.exited_rx.recv() => Trigger::RoleExited(role),
        };
        match trigger {
            Trigger::StopRequested => tracing::info!("stopping: draining in-flight work"),
            Trigger::RoleExited(role) => {
                tracing::error!(%role, "role stopped on its own; stopping the others")
            }
        }
        self.tasks.sort_by_key(|task| task.role);
        let mut failures = Vec::new();
        for task in self.tasks {
            if let Err(failure) = stop(task, trigger).await {
                tracing::error!("{failure:#}");
                failures.push(failure);
            }
        }
        match (trigger, failures.is_empty()) {
            (Trigger::StopRequested, true) => {
                tracing::info!("stopped cleanly");
                Ok(())
            }
            _ => {
                let reasons: Vec<String> = failures.iter().map(|f| format!("{f:#}")).collect();
                Err(anyhow!("{}", reasons.join("; ")))
            }
        }
    }
}

/// Asks one role to stop and waits for it, up to [`DRAIN_TIMEOUT`].
async fn stop(mut task: RoleTask, trigger: Trigger) -> anyhow::Result<()> {
    task.stop.cancel();
    let role = task.role;
    let outcome = tokio::time::timeout(DRAIN_TIMEOUT, &mut task.handle).await;
    match outcome {
        Err(_elapsed) => {
            task.handle.abort();
            Err(anyhow!("role {role} did not stop within {DRAIN_TIMEOUT:?}; aborted it"))
        }
        Ok(Err(join_error)) if join_error.is_panic() => Err(anyhow!("role {role} panicked")),
        Ok(Err(join_error)) => Err(anyhow!("role {role} was cancelled: {join_error}")),
        Ok(Ok(Err(error))) => Err(error.context(format!("role {role} failed"))),
        Ok(Ok(Ok(()))) if trigger == Trigger::RoleExited(role) => {
            Err(anyhow!("role {role} stopped although nothing asked it to"))
        }
        Ok(Ok(Ok(()))) => {
            tracing::info!(%role, "role stopped");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use std::sync::Mutex;
    use tokio::sync::oneshot;

    use super::*;

    /// A role that runs until asked to stop, then records that it stopped.
    async fn obedient(
        stopped: Arc<Mutex<Vec<Role>>>,
        role: Role,
        stop: CancellationToken,
    ) -> anyhow::Result<()> {
        stop.cancelled().await;
        stopped.lock().unwrap().push(role);
        Ok(())
    }

    #[tokio::test]
    async fn a_stop_request_stops_the_roles_in_order_and_succeeds() {
        let stopped = Arc::new(Mutex::new(Vec::new()));
        let mut supervisor = Supervisor::default();
        for role in [Role::Projections, Role::Gateway, Role::Commands] {
            let stopped = stopped.clone();
            supervisor.spawn(role, move |stop| obedient(stopped, role, stop));
        }
        let (request, requested) = oneshot::channel::<()>();
        let running = tokio::spawn(supervisor.run_until(async move {
            let _ = requested.await;
        }));
        let _ = request.send(());
        running.await.unwrap().unwrap();
        assert_eq!(
            *stopped.lock().unwrap(),
            vec![Role::Gateway, Role::Commands, Role::Projections]
        );
    }

    #[tokio::test]
    async fn a_failing_role_stops_the_others_and_reports_the_error() {
        let stopped = Arc::new(Mutex::new(Vec::new()));
        let mut supervisor = Supervisor::default();
        let gateway_stopped = stopped.clone();
        supervisor.spawn(Role::Gateway, move |stop| obedient(gateway_stopped, Role::Gateway, stop));
        supervisor.spawn(Role::Commands, |_stop| async { Err(anyhow!("disk full")) });
        let error = supervisor.run_until(std::future::pending()).await.unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("commands") && message.contains("disk full"), "{message}");
        assert_eq!(*stopped.lock().unwrap(), vec![Role::Gateway]);
    }

    #[tokio::test]
    async fn a_panicking_role_is_reported() {
        let mut supervisor = Supervisor::default();
        supervisor.spawn(Role::Projections, |_stop| async {
            let rows: Vec<u8> = Vec::new();
            // Indexing an empty vector panics, as a bug in a role would.
            let _ = rows[usize::from(rows.is_empty())];
            Ok(())
        });
        let error = supervisor.run_until(std::future::pending()).await.unwrap_err();
        assert!(format!("{error:#}").contains("projections panicked"), "{error:#}");
    }

    #[tokio::test]
    async fn a_role_that_returns_early_is_a_failure() {
        let mut supervisor = Supervisor::default();
        supervisor.spawn(Role::Gateway, |_stop| async { Ok(()) });
        let error = supervisor.run_until(std::future::pending()).await.unwrap_err();
        assert!(format!("{error:#}").contains("nothing asked it to"), "{error:#}");
    }
}
