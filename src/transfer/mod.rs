//! `nagare export` and `nagare import`: a whole log moved between backends through a portable
//! file ([`format`] describes it), at the same partitions and offsets.

mod export;
mod format;
mod import;
mod load;
mod payload;
mod plan;
mod progress;
mod read_ahead;
mod reader;
mod writer;

#[cfg(test)]
mod file_tests;

use crate::cli::{ExportArgs, ImportArgs};

pub(crate) async fn export(args: ExportArgs) -> anyhow::Result<()> {
    export::run(args).await
}

pub(crate) async fn import(args: ImportArgs) -> anyhow::Result<()> {
    import::run(args).await
}
