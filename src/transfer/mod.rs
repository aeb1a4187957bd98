//! `nagare export` and `nagare import`: a whole log moved between backends through a portable file.

use crate::cli::{ExportArgs, ImportArgs};

pub(crate) async fn export(args: ExportArgs) -> anyhow::Result<()> {
    anyhow::bail!("`nagare export` is not available in this build ({args:?})")
}

pub(crate) async fn import(args: ImportArgs) -> anyhow::Result<()> {
    anyhow::bail!("`nagare import` is not available in this build ({args:?})")
}
