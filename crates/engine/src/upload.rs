//! What an import knows of its file before reading it as a spreadsheet — name, size, SHA-256 —
//! and the archived copy kept in the history (secret cells blanked, see `sanitize`).

use std::io::Read;
use std::path::Path;

use muster_sheets::ReadOptions;
use muster_store::{PreparedWrites, Store, StoreError};
use sha2::{Digest, Sha256};

use crate::sanitize::{sanitized_copy, Sanitized};

pub(crate) struct Upload {
    pub file_name: String,
    pub size: u64,
    /// Hex SHA-256 of the bytes; empty for a file over the size limit, which is not read.
    pub sha256: String,
    pub limit: u64,
    pub too_large: bool,
}

/// Bytes per stored piece of an archive, and per read while hashing.
const PIECE: usize = 1024 * 1024;

impl Upload {
    pub fn inspect(path: &Path, limit: u64) -> std::io::Result<Upload> {
        let mut file = std::fs::File::open(path)?;
        let size = file.metadata()?.len();
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let too_large = size > limit;
        let mut sha256 = String::new();
        if !too_large {
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; PIECE];
            loop {
                let n = file.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
            }
            sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        }
        Ok(Upload { file_name, size, sha256, limit, too_large })
    }
}

/// Stores the archive copy of the upload for import `id` and describes it (kept in the
/// import's summary: how it was made, and how to read it back).
pub(crate) async fn archive(store: &Store, id: i64, path: &Path, read: &ReadOptions) -> Result<serde_json::Value, StoreError> {
    let source = path.to_owned();
    let options = read.clone();
    let made = tokio::task::spawn_blocking(move || -> Result<(std::fs::File, Sanitized), String> {
        let mut temp = tempfile::tempfile().map_err(|e| e.to_string())?;
        let sanitized = sanitized_copy(&source, &options, &mut temp).map_err(|e| e.to_string())?;
        Ok((temp, sanitized))
    })
    .await
    .map_err(|join| StoreError::Interrupted(join.to_string()))?;
    let (mut file, sanitized) = match made {
        Ok(made) => made,
        Err(reason) => return Ok(serde_json::json!({ "state": "not_archived", "note": reason })),
    };
    let mut tx = store.begin().await?;
    let mut seq = 0;
    let mut pending = vec![0u8; PIECE];
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0)).map_err(|e| StoreError::Interrupted(e.to_string()))?;
    loop {
        let n = read_full(&mut file, &mut pending).map_err(|e| StoreError::Interrupted(e.to_string()))?;
        if n == 0 {
            break;
        }
        seq += 1;
        let mut writes = PreparedWrites::new(store.backend());
        writes.insert_archive_piece(id, seq, pending[..n].to_vec());
        writes.execute(&mut tx).await?;
    }
    tx.commit().await?;
    let back = sanitized.archive_read_options(read);
    let mut description = match &sanitized {
        Sanitized::Verbatim => serde_json::json!({ "state": "verbatim" }),
        Sanitized::Rewritten { blanked_cells } => serde_json::json!({ "state": "rewritten", "blanked_cells": blanked_cells,
            "note": "password and password-hash cells were blanked" }),
        Sanitized::Truncated { sheet, rows_kept_until, blanked_cells } => serde_json::json!({ "state": "truncated",
            "blanked_cells": blanked_cells, "note": format!("the file could not be read past {sheet} row {rows_kept_until}; only the rows before are archived, password cells blanked") }),
    };
    description["delimiter"] = serde_json::json!(back.delimiter.map(|d| (d as char).to_string()));
    description["encoding"] = serde_json::json!(back.encoding);
    Ok(description)
}

/// Fills `buffer` as far as the file goes.
fn read_full(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let n = file.read(&mut buffer[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// How to read an archive back, from the description `archive` stored.
pub(crate) fn archive_read_options(description: &serde_json::Value) -> ReadOptions {
    ReadOptions {
        delimiter: description["delimiter"].as_str().and_then(|d| d.bytes().next()),
        encoding: description["encoding"].as_str().map(str::to_owned),
        ..ReadOptions::default()
    }
}
