//! `kill -9` while 8 clients write as fast as they can: after a restart every mutation that was
//! answered with a receipt is visible exactly once. On each backend.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::ledger::{self, Writers};
use common::{Backend, DataDir, Server, on_each_backend, shop};

const WRITERS: usize = 8;

on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    acknowledged_mutations_survive_kill_9_exactly_once
);

async fn acknowledged_mutations_survive_kill_9_exactly_once(backend: Backend) {
    let dir = DataDir::on(backend);
    let server = Server::start(&dir, &["--snapshot-every", "5"]).await;
    let category_id = shop::create_category(&server, "Crash-tested").await;
    let mut initial_stock = HashMap::new();
    let mut products = Vec::new();
    for writer in 0..WRITERS {
        let id =
            shop::create_product(&server, &category_id, &format!("writer {writer}"), 100, 3).await;
        initial_stock.insert(id.clone(), 3);
        products.push(id);
    }

    let writers = Arc::new(Writers::default());
    let mut tasks = Vec::new();
    for (writer, product_id) in products.iter().enumerate() {
        tasks.push(tokio::spawn(ledger::write_until_stopped(
            server.api(),
            writer,
            product_id.clone(),
            category_id.clone(),
            writers.clone(),
        )));
    }
    // Kill mid-flight: once a good number of mutations have been acknowledged.
    let limit = backend.patience(Duration::from_secs(30));
    ledger::wait_for_acknowledgements(&writers, 500, limit).await;
    let acknowledged_before_kill = writers.acknowledged.load(Ordering::Relaxed);
    server.kill().await;
    writers.stop.store(true, Ordering::Relaxed);

    let mut sent = Vec::new();
    for task in tasks {
        let finished = tokio::time::timeout(Duration::from_secs(60), task).await;
        sent.extend(finished.expect("a writer did not stop").expect("a writer panicked"));
    }
    assert!(
        acknowledged_before_kill >= 50,
        "too few acknowledgements ({acknowledged_before_kill})"
    );
    let unacknowledged = sent.iter().filter(|m| m.receipt.is_none()).count();
    eprintln!("{} mutations sent, {unacknowledged} without a receipt", sent.len());

    let server = Server::start(&dir, &["--snapshot-every", "5"]).await;
    let (added, created) = ledger::reconcile(&server, &sent).await;
    ledger::check_exactly_once(&server, &category_id, &initial_stock, &added, &created).await;

    // And the same state after one more, clean, restart.
    let status = server.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "{status}");
    let server = Server::start(&dir, &[]).await;
    ledger::check_exactly_once(&server, &category_id, &initial_stock, &added, &created).await;
}
