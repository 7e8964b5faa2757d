//! Stored problems are data (issue 8): a failed row's problems are kept as codes and
//! parameters, and the words are made when they are shown — by the history, its JSON and the
//! error workbook alike. Histories written by earlier releases, which kept the sentence, still
//! show the sentence they kept.

use muster_domain::{EmailError, FieldErrorKind};
use muster_engine::{
    import_file, prepare_error_workbook, show_import, ImportDetails, ImportOptions, ImportReport,
    ImportSource, ImportStatus, IssueKind, RowOutcome,
};
use muster_store::{ChunkTable, PreparedWrites, Store};

use crate::scenarios;
use crate::support::operator;

async fn import(store: &Store, text: &str) -> ImportReport {
    let source = ImportSource::read("rows.csv", text.as_bytes()).expect("spooling the upload");
    import_file(store, &source, &ImportOptions::default(), &operator())
        .await
        .expect("the import runs")
}

/// alice owns `alice@example.org`; then a file whose three rows fail, each for a reason that
/// has parameters: a group that does not exist, alice's e-mail, an address that is none.
async fn rejected_import(store: &Store) -> i64 {
    let first = import(
        store,
        "Username,Name,E-mail\nalice,Alice,alice@example.org\n",
    )
    .await;
    assert_eq!(first.status, ImportStatus::Applied, "{:?}", first.errors);
    let report = import(
        store,
        "Username,Name,E-mail,User group\n\
         bob,Bob,bob@example.org,Ops\n\
         carol,Carol,alice@example.org,\n\
         dave,Dave,not-an-address,\n",
    )
    .await;
    assert_eq!(report.status, ImportStatus::Rejected);
    assert_eq!(report.counts.failed, 3, "{:?}", report.errors);
    report.import_id.expect("recorded")
}

async fn details(store: &Store, id: i64) -> ImportDetails {
    show_import(store, &operator(), id, 100)
        .await
        .expect("the history shows the import")
}

fn failed(details: &ImportDetails, row: u64) -> &RowOutcome {
    details
        .rows
        .iter()
        .find(|r| r.row == row && r.outcome == "failed")
        .unwrap_or_else(|| panic!("row {row} failed: {:#?}", details.rows))
}

/// The error workbook of import `id` (a CSV, as the upload was), as text.
async fn error_workbook(store: &Store, id: i64) -> String {
    let prepared = prepare_error_workbook(store, &operator(), id)
        .await
        .expect("the import has failed rows");
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let out = file.reopen().expect("reopening the temp file");
    prepared.write(Box::new(out)).await.expect("written");
    std::fs::read_to_string(file.path()).expect("reading the workbook")
}

async fn failed_rows_are_stored_as_codes_and_parameters_and_shown_in_words(store: &Store) {
    let id = rejected_import(store).await;
    let details = details(store, id).await;

    let group = &failed(&details, 2).errors[..];
    assert_eq!(group.len(), 1, "{group:?}");
    assert_eq!(group[0].column.as_deref(), Some("User group"));
    assert_eq!(
        group[0].kind(),
        Some(&IssueKind::UnknownGroup { name: "Ops".into() })
    );
    let taken = &failed(&details, 3).errors[..];
    assert_eq!(
        taken[0].kind(),
        Some(&IssueKind::EmailTaken {
            email: "alice@example.org".into(),
            owner: "alice".into()
        }),
        "{taken:?}"
    );
    assert_eq!(taken[0].code(), "email_taken");
    let invalid = &failed(&details, 4).errors[..];
    assert_eq!(
        invalid[0].kind(),
        Some(&IssueKind::Field {
            detail: FieldErrorKind::Email {
                detail: EmailError::Invalid {
                    value: "not-an-address".into()
                }
            }
        }),
        "{invalid:?}"
    );

    // The history's JSON gives each problem's code, parameters and sentence.
    let json = serde_json::to_value(&details).expect("serialises");
    let shown = |row: u64| {
        json["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["row"] == row)
            .map(|r| r["errors"][0].clone())
            .expect("the row")
    };
    assert_eq!(
        shown(2),
        serde_json::json!({
            "column": "User group",
            "code": "unknown_group",
            "name": "Ops",
            "message": "group `Ops` does not exist, and the import does not create groups",
        })
    );
    assert_eq!(shown(3)["owner"], "alice");
    assert_eq!(
        shown(4)["detail"],
        serde_json::json!({"code": "email", "detail": {"code": "invalid", "value": "not-an-address"}})
    );
    // So does the report kept in the job's summary.
    let summary = &json["summary"]["errors"][0];
    assert_eq!(
        (&summary["code"], &summary["name"], &summary["row"]),
        (&"unknown_group".into(), &"Ops".into(), &2.into()),
        "{summary}"
    );
    assert!(summary["message"]
        .as_str()
        .is_some_and(|m| m.contains("`Ops`")));

    // The error workbook says it in words.
    let workbook = error_workbook(store, id).await;
    assert!(
        workbook.contains(&format!(
            "[import {id}, row 2] User group: group `Ops` does not exist"
        )),
        "{workbook}"
    );
    assert!(
        workbook.contains("e-mail `alice@example.org` already belongs to user `alice`"),
        "{workbook}"
    );
}

/// Failed rows as an earlier release stored them: the sentence with its code, or the sentence
/// only (before codes were kept), added to a rejected import's history.
async fn add_legacy_failures(store: &Store, id: i64, sheet: &str) {
    let chunk = serde_json::json!({
        "sheet": sheet,
        "rows": [{"row": 3, "issues": [
            {"column": "E-mail", "code": "email_taken", "message": "the e-mail was taken, in old words"},
            {"column": null, "message": "a sentence from before codes"},
        ]}],
    });
    let mut writes = PreparedWrites::new(store.backend());
    writes.insert_chunk(ChunkTable::Failures, id, 1_000_000, chunk.to_string());
    let mut conn = store.acquire().await.expect("a connection");
    writes.execute(&mut conn).await.expect("written");
}

async fn a_history_written_by_an_earlier_release_shows_the_sentences_it_stored(store: &Store) {
    let id = rejected_import(store).await;
    let sheet = failed(&details(store, id).await, 2).sheet.clone();
    add_legacy_failures(store, id, &sheet).await;

    let details = details(store, id).await;
    let old = details
        .rows
        .iter()
        .find(|r| r.row == 3 && r.errors.iter().any(|e| e.kind().is_none()))
        .expect("the row stored the old way");
    let said: Vec<(&str, String)> = old.errors.iter().map(|e| (e.code(), e.message())).collect();
    assert_eq!(
        said,
        [
            (
                "email_taken",
                "the e-mail was taken, in old words".to_owned()
            ),
            ("", "a sentence from before codes".to_owned()),
        ]
    );
    let json = serde_json::to_string(&details).expect("serialises");
    assert!(
        json.contains(r#"{"column":"E-mail","code":"email_taken","message":"the e-mail was taken, in old words"}"#),
        "{json}"
    );
    assert!(
        json.contains(r#"{"column":null,"message":"a sentence from before codes"}"#),
        "{json}"
    );

    let workbook = error_workbook(store, id).await;
    assert!(
        workbook
            .contains("E-mail: the e-mail was taken, in old words; a sentence from before codes"),
        "{workbook}"
    );
}

scenarios!(
    failed_rows_are_stored_as_codes_and_parameters_and_shown_in_words,
    a_history_written_by_an_earlier_release_shows_the_sentences_it_stored,
);
