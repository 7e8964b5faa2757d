//! An import reads a source: a file on disk known by its own name, or an upload known by the
//! name its sender gave (a browser's file name), never by the temporary file holding it.

use muster_engine::{import_file, list_imports, ImportOptions, ImportSource};
use muster_store::Store;

use crate::scenarios;
use crate::support::operator;

async fn an_upload_is_known_by_its_own_name_everywhere(store: &Store) {
    let name = "Personnel 2026 (final).csv";
    let source = ImportSource::read(name, "Username,Name\nalice,Alice\n".as_bytes())
        .expect("spooling the upload");
    let report = import_file(store, &source, &ImportOptions::default(), &operator())
        .await
        .expect("the import runs");
    assert_eq!(report.file_name, name);
    let history = list_imports(store, &operator(), 10).await.expect("history");
    assert_eq!(history[0].file_name, name);

    // A server's copy of an upload under a temporary name is still known by the upload's name,
    // also when it cannot be read.
    let missing = ImportSource::upload(name, "/nonexistent/tmp-upload-4711");
    let error = import_file(store, &missing, &ImportOptions::default(), &operator())
        .await
        .expect_err("nothing to read");
    let text = error.to_string();
    assert!(text.starts_with(&format!("cannot read {name}:")), "{text}");
    assert!(!text.contains("tmp-upload"), "{text}");
}

scenarios!(an_upload_is_known_by_its_own_name_everywhere);
