//! The README's walkthrough, run verbatim with bash, curl and jq against a real server, on each
//! backend.

mod common;

use std::process::Command;

use common::{Backend, DataDir, Server, on_each_backend, repo_root};
use serde_json::Value;

const START: &str = "<!-- walkthrough:start -->";
const END: &str = "<!-- walkthrough:end -->";
/// The address the README uses; the test's server listens elsewhere.
const README_ADDRESS: &str = "http://localhost:4000";

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md")).expect("read README.md")
}

/// The shell block between the walkthrough markers.
fn walkthrough_script(readme: &str) -> String {
    let start = readme.find(START).expect("README has the walkthrough start marker");
    let end = readme.find(END).expect("README has the walkthrough end marker");
    let block = &readme[start + START.len()..end];
    let body = block
        .trim()
        .strip_prefix("```sh")
        .and_then(|b| b.strip_suffix("```"))
        .expect("the walkthrough is one ```sh block");
    body.to_owned()
}

/// Every JSON document a command printed, in order.
fn json_documents(output: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(output)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| {
            panic!("the walkthrough printed something that is not JSON ({e}):\n{output}")
        })
}

on_each_backend!(the_readme_walkthrough_works_verbatim);

async fn the_readme_walkthrough_works_verbatim(backend: Backend) {
    for tool in ["bash", "curl", "jq", "timeout"] {
        let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "`{tool}` is needed by the walkthrough test; scripts/test installs it"
        );
    }
    let dir = DataDir::on(backend);
    let server = Server::start(&dir, &[]).await;
    let readme = readme();
    let script = walkthrough_script(&readme);
    assert!(script.contains(README_ADDRESS), "the walkthrough talks to {README_ADDRESS}");
    let script = script.replace(README_ADDRESS, server.base_url());

    let output = Command::new("timeout")
        .args(["120", "bash", "-euo", "pipefail", "-c", &script])
        .output()
        .expect("run the walkthrough");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walkthrough failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    assert!(stderr.trim().is_empty(), "the walkthrough wrote to stderr:\n{stderr}");

    let documents = json_documents(&stdout);
    assert_eq!(documents.len(), 2, "{stdout}");
    let order = &documents[0]["data"]["order"];
    assert_eq!(order["status"], "PENDING", "{stdout}");
    assert_eq!(order["total"], 2400, "{stdout}");
    assert_eq!(order["lines"][0]["productName"], "Sencha", "{stdout}");
    assert_eq!(order["lines"][0]["quantity"], 2, "{stdout}");
    assert_eq!(order["lines"][0]["unitPrice"], 1200, "{stdout}");
    assert_eq!(order["lines"][0]["subtotal"], 2400, "{stdout}");

    let categories =
        documents[1]["data"]["categories"]["edges"].as_array().cloned().unwrap_or_default();
    assert_eq!(categories.len(), 1, "{stdout}");
    let tea = &categories[0]["node"];
    assert_eq!(tea["name"], "Tea", "{stdout}");
    assert_eq!(tea["productCount"], 1, "{stdout}");
    let sencha = &tea["products"]["edges"][0]["node"];
    assert_eq!(sencha["name"], "Sencha", "{stdout}");
    assert_eq!(sencha["price"], 1200, "{stdout}");
    assert_eq!(sencha["stock"], 10, "{stdout}");
}

#[test]
fn the_readme_names_the_run_and_test_commands_and_ci_runs_the_test_command() {
    let readme = readme();
    assert!(readme.contains("\ncargo run --release -- serve\n"));
    assert!(readme.contains("\nscripts/test\n"));
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).expect("read .ci/run");
    assert!(ci.contains("scripts/test"), "{ci}");
}
