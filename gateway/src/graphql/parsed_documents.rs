//! Keeps the documents of recent queries parsed. Clients send the same few documents over and
//! over with different variables, and parsing one took about a tenth of the gateway's CPU per
//! mutation (BENCHMARKS.md, `commands`); a parsed document is reused for the same query text.
//!
//! Only documents that parsed and passed the parse-time checks (recursion depth, directives)
//! are kept, so a reused document is exactly what parsing the text again would give.
//! Validation against the schema and the depth and complexity limits still run every time.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerResult, Variables};
use parking_lot::Mutex;

/// Distinct documents kept; the oldest goes first. Applications send a bounded set.
const MAX_DOCUMENTS: usize = 512;
/// Longer query texts are parsed every time, so that a few huge ones cannot fill the memory.
const MAX_QUERY_BYTES: usize = 16 * 1024;

/// The extension factory to register on the schema; its clones share one set of documents.
#[derive(Clone, Default)]
pub struct ParsedDocuments {
    documents: Arc<Mutex<Documents>>,
}

impl std::fmt::Debug for ParsedDocuments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedDocuments")
            .field("kept", &self.documents.lock().by_text.len())
            .finish()
    }
}

#[derive(Default)]
struct Documents {
    by_text: HashMap<String, ExecutableDocument>,
    /// Texts kept, oldest first.
    order: VecDeque<String>,
}

impl Documents {
    fn insert(&mut self, text: &str, document: ExecutableDocument) {
        if self.by_text.contains_key(text) {
            return;
        }
        if self.order.len() >= MAX_DOCUMENTS
            && let Some(oldest) = self.order.pop_front()
        {
            self.by_text.remove(&oldest);
        }
        self.order.push_back(text.to_owned());
        self.by_text.insert(text.to_owned(), document);
    }
}

impl ExtensionFactory for ParsedDocuments {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ParsedDocuments {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Some(document) = self.documents.lock().by_text.get(query) {
            return Ok(document.clone());
        }
        let document = next.run(ctx, query, variables).await?;
        if query.len() <= MAX_QUERY_BYTES {
            self.documents.lock().insert(query, document.clone());
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Request, Schema};

    struct Query;

    #[Object]
    impl Query {
        async fn double(&self, n: i32) -> i32 {
            n * 2
        }
    }

    #[tokio::test]
    async fn a_reused_document_runs_with_each_requests_variables_and_is_still_validated() {
        let documents = ParsedDocuments::default();
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .extension(documents.clone())
            .finish();
        let text = "query($n: Int!) { double(n: $n) }";
        for n in [1, 2, 3] {
            let variables = Variables::from_json(serde_json::json!({ "n": n }));
            let response = schema.execute(Request::new(text).variables(variables)).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            assert_eq!(response.data.into_json().unwrap(), serde_json::json!({ "double": n * 2 }));
        }
        assert_eq!(documents.documents.lock().by_text.len(), 1);
        // Parses, fails validation: kept parsed, and rejected every time.
        for _ in 0..2 {
            let response = schema.execute("{ triple(n: 1) }").await;
            assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        }
        // Does not parse: never kept.
        for _ in 0..2 {
            assert_eq!(schema.execute("{ double(n: ").await.errors.len(), 1);
        }
        assert_eq!(documents.documents.lock().by_text.len(), 2);
    }

    fn parsed(text: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(text).unwrap()
    }

    #[test]
    fn keeps_at_most_the_newest_documents() {
        let mut documents = Documents::default();
        for n in 0..MAX_DOCUMENTS + 3 {
            let text = format!("{{ f{n} }}");
            documents.insert(&text, parsed(&text));
        }
        assert_eq!(documents.by_text.len(), MAX_DOCUMENTS);
        assert_eq!(documents.order.len(), MAX_DOCUMENTS);
        assert!(!documents.by_text.contains_key("{ f0 }"));
        assert!(documents.by_text.contains_key(&format!("{{ f{} }}", MAX_DOCUMENTS + 2)));
    }

    #[test]
    fn inserting_a_kept_text_again_keeps_one_copy() {
        let mut documents = Documents::default();
        documents.insert("{ a }", parsed("{ a }"));
        documents.insert("{ a }", parsed("{ a }"));
        assert_eq!((documents.by_text.len(), documents.order.len()), (1, 1));
    }
}
