//! Every use case fails with the one engine error, whose variant is the kind a front-end maps
//! (the CLI to an exit code, the console to a page, the API to a status) and whose reason is
//! typed; what a job did, cancelled included, is a status of its report instead.

use std::sync::atomic::Ordering;

use muster_domain::Permission;
use muster_engine::{
    apply_plan, download_archive, export, export_workbook, import_file, list_audit, list_imports,
    prepare_error_workbook, revert_import, show_import, write_template, Actor, AuditQuery,
    Conflict, Context, Entity, Error, ErrorKind, ExportFilter, Format, ImportOptions, ImportReport,
    ImportSource, ImportStatus, Invalid, Missing, Refusal, Source, TemplateKind,
};
use muster_store::{JobKind, JobStatus, Store};

use crate::scenarios;
use crate::support::{context, operator};

/// An import id that no test creates.
const NO_SUCH_IMPORT: i64 = 999;

/// `text` as an upload named `rows.csv`.
fn csv(text: &str) -> ImportSource {
    ImportSource::read("rows.csv", text.as_bytes()).expect("spooling the upload")
}

async fn import(store: &Store, ctx: &Context, text: &str, options: ImportOptions) -> ImportReport {
    import_file(store, &csv(text), &options, ctx)
        .await
        .expect("the import runs")
}

fn preview() -> ImportOptions {
    ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    }
}

/// Asserts that `result` failed with `kind`, and gives back the error to look into.
fn failed<T: std::fmt::Debug>(result: Result<T, Error>, kind: ErrorKind, what: &str) -> Error {
    let error = result.expect_err(what);
    assert_eq!(error.kind(), kind, "{what}: {error}");
    error
}

async fn a_missing_import_is_not_found_for_every_use_case_that_names_one(store: &Store) {
    let ctx = operator();
    let id = NO_SUCH_IMPORT;
    let errors = [
        failed(
            revert_import(store, id, false, &ctx).await,
            ErrorKind::NotFound,
            "revert",
        ),
        failed(
            apply_plan(store, id, &ctx).await,
            ErrorKind::NotFound,
            "apply",
        ),
        failed(
            show_import(store, &ctx, id, 10).await,
            ErrorKind::NotFound,
            "show",
        ),
        failed(
            download_archive(store, &ctx, id, &mut std::io::sink()).await,
            ErrorKind::NotFound,
            "download",
        ),
        failed(
            prepare_error_workbook(store, &ctx, id).await.map(|_| ()),
            ErrorKind::NotFound,
            "error workbook",
        ),
    ];
    for error in errors {
        assert!(
            matches!(error, Error::NotFound(Missing::Import(NO_SUCH_IMPORT))),
            "{error:?}"
        );
        assert_eq!(error.to_string(), "there is no import 999");
    }
    // An import that exists but failed nowhere has no error workbook: missing too.
    let clean = import(
        store,
        &ctx,
        "Username,Name\nalice,Alice\n",
        ImportOptions::default(),
    )
    .await;
    let id = clean.import_id.expect("an id");
    let error = failed(
        prepare_error_workbook(store, &ctx, id).await.map(|_| ()),
        ErrorKind::NotFound,
        "error workbook of a clean import",
    );
    assert!(
        matches!(error, Error::NotFound(Missing::FailedRows(_))),
        "{error:?}"
    );
}

async fn applying_or_reverting_twice_is_a_conflict(store: &Store) {
    let ctx = operator();
    let previewed = import(store, &ctx, "Username,Name\nalice,Alice\n", preview()).await;
    let id = previewed.import_id.expect("an id");
    let applied = apply_plan(store, id, &ctx).await.expect("the first apply");
    assert_eq!(applied.status, ImportStatus::Applied);
    let again = failed(
        apply_plan(store, id, &ctx).await,
        ErrorKind::Conflict,
        "a second apply",
    );
    assert!(
        matches!(again, Error::Conflict(Conflict::AlreadyApplied { id: i }) if i == id),
        "{again:?}"
    );
    assert_eq!(
        again.to_string(),
        format!("import {id} was already applied")
    );
    let reverted = revert_import(store, id, false, &ctx).await.expect("revert");
    let again = failed(
        revert_import(store, id, false, &ctx).await,
        ErrorKind::Conflict,
        "a second revert",
    );
    assert!(
        matches!(again, Error::Conflict(Conflict::AlreadyReverted { by, .. }) if by == reverted.revert_id),
        "{again:?}"
    );
    // A dry run changed nothing, so there is nothing to revert; a revert is not an import.
    let dry = import(store, &ctx, "Username,Name\nbob,Bob\n", preview()).await;
    let nothing = failed(
        revert_import(store, dry.import_id.expect("an id"), false, &ctx).await,
        ErrorKind::Conflict,
        "reverting a dry run",
    );
    assert!(
        matches!(
            nothing,
            Error::Conflict(Conflict::NothingApplied {
                status: JobStatus::DryRun,
                ..
            })
        ),
        "{nothing:?}"
    );
    let not_an_import = failed(
        revert_import(store, reverted.revert_id, false, &ctx).await,
        ErrorKind::Invalid,
        "reverting a revert",
    );
    assert!(
        matches!(not_an_import, Error::Invalid(Invalid::NotAnImport(_))),
        "{not_an_import:?}"
    );
}

async fn a_request_that_cannot_be_written_as_asked_is_invalid(store: &Store) {
    let ctx = operator();
    let sink = || Box::new(std::io::sink());
    let by_department = ExportFilter {
        department: Some("Sales".into()),
        ..ExportFilter::default()
    };
    let error = failed(
        export(
            store,
            &ctx,
            Entity::Groups,
            Format::Csv,
            &by_department,
            sink(),
        )
        .await,
        ErrorKind::Invalid,
        "a users' filter on groups",
    );
    assert!(
        matches!(error, Error::Invalid(Invalid::FilterNotApplicable)),
        "{error:?}"
    );
    let error = failed(
        export(
            store,
            &ctx,
            Entity::Users,
            Format::Csv,
            &by_department,
            sink(),
        )
        .await,
        ErrorKind::NotFound,
        "a department that does not exist",
    );
    assert_eq!(error.to_string(), "department `Sales` does not exist");
    let error = failed(
        export_workbook(store, &ctx, Format::Csv, sink()).await,
        ErrorKind::Invalid,
        "a workbook as CSV",
    );
    assert!(
        matches!(error, Error::Invalid(Invalid::WorkbookNeedsSheets)),
        "{error:?}"
    );
    let error = failed(
        write_template(store, &ctx, TemplateKind::Workbook, Format::Csv, sink()).await,
        ErrorKind::Invalid,
        "a workbook template as CSV",
    );
    assert!(
        matches!(error, Error::Invalid(Invalid::WorkbookNeedsXlsx)),
        "{error:?}"
    );
    let error = failed(
        write_template(
            store,
            &ctx,
            TemplateKind::Entity(Entity::Users),
            Format::Ods,
            sink(),
        )
        .await,
        ErrorKind::Invalid,
        "a template as ODS",
    );
    assert_eq!(
        error.to_string(),
        "templates are written as XLSX or CSV, not ODS"
    );
}

async fn an_actor_lacking_a_permission_is_forbidden_in_every_use_case(store: &Store) {
    let ctx = operator();
    import(
        store,
        &ctx,
        "Username,Name\nnora,Nora\n",
        ImportOptions::default(),
    )
    .await;
    let previewed = import(store, &ctx, "Username,Name\nolga,Olga\n", preview()).await;
    let id = previewed.import_id.expect("an id");
    let actor = Actor::for_user(store, "nora", Source::Console)
        .await
        .expect("nora can act");
    let nora = context(actor.clone());
    let sink = || Box::new(std::io::sink());
    let all = ExportFilter::default();
    let users = TemplateKind::Entity(Entity::Users);
    let refusals = [
        (
            "import",
            Permission::UsersImport,
            import_file(store, &csv("Username,Name\npaul,Paul\n"), &preview(), &nora)
                .await
                .map(|_| ()),
        ),
        (
            "revert",
            Permission::ImportsRevert,
            revert_import(store, id, false, &nora).await.map(|_| ()),
        ),
        (
            "apply",
            Permission::UsersImport,
            apply_plan(store, id, &nora).await.map(|_| ()),
        ),
        (
            "history",
            Permission::ImportsRead,
            list_imports(store, &nora, 10).await.map(|_| ()),
        ),
        (
            "show",
            Permission::ImportsRead,
            show_import(store, &nora, id, 10).await.map(|_| ()),
        ),
        (
            "export",
            Permission::UsersExport,
            export(store, &nora, Entity::Users, Format::Csv, &all, sink())
                .await
                .map(|_| ()),
        ),
        (
            "workbook export",
            Permission::UsersExport,
            export_workbook(store, &nora, Format::Xlsx, sink())
                .await
                .map(|_| ()),
        ),
        (
            "template",
            Permission::UsersImport,
            write_template(store, &nora, users, Format::Xlsx, sink()).await,
        ),
        (
            "audit",
            Permission::AuditRead,
            list_audit(store, &nora, &AuditQuery::default())
                .await
                .map(|_| ()),
        ),
    ];
    for (what, permission, result) in refusals {
        let error = failed(result, ErrorKind::Forbidden, what);
        assert!(
            matches!(&error, Error::Forbidden(Refusal::Lacks { permission: p, .. }) if *p == permission),
            "{what}: {error:?}"
        );
        assert!(
            error.to_string().starts_with("forbidden: nora lacks"),
            "{error}"
        );
    }
    // Reading the audit log is refused like any other use case, and the refusal is itself in
    // the log.
    let refused_reads = list_audit(
        store,
        &ctx,
        &AuditQuery {
            action: Some("audit.read".into()),
            limit: 10,
            ..AuditQuery::default()
        },
    )
    .await
    .expect("the operator reads the audit log");
    assert_eq!(refused_reads.len(), 1, "{refused_reads:?}");
    assert_eq!(refused_reads[0].outcome, "refused");
    assert_eq!(refused_reads[0].actor, "nora");
    let preview_after = list_imports(store, &ctx, 10).await.expect("history");
    let entry = preview_after
        .iter()
        .find(|e| e.id == id)
        .expect("the preview");
    assert_eq!(entry.status, JobStatus::DryRun, "nothing was applied");
}

async fn a_cancelled_job_is_a_status_of_its_report_not_an_error(store: &Store) {
    let ctx = operator();
    let applied = import(
        store,
        &ctx,
        "Username,Name\nrita,Rita\n",
        ImportOptions::default(),
    )
    .await;
    let import_id = applied.import_id.expect("an id");
    let previewed = import(store, &ctx, "Username,Name\nsam,Sam\n", preview()).await;
    let preview_id = previewed.import_id.expect("an id");
    let stopped = operator();
    stopped.cancel.store(true, Ordering::SeqCst);

    let revert = revert_import(store, import_id, false, &stopped)
        .await
        .expect("a cancelled revert is an outcome");
    assert_eq!(revert.status, ImportStatus::Cancelled);
    assert_eq!((revert.removed, revert.restored), (0, 0));
    assert_eq!(
        revert.import_status,
        JobStatus::Applied,
        "the import as it was"
    );
    let plan = apply_plan(store, preview_id, &stopped)
        .await
        .expect("a cancelled apply is an outcome");
    assert_eq!(plan.status, ImportStatus::Cancelled);
    let cancelled = import(
        store,
        &stopped,
        "Username,Name\ntom,Tom\n",
        ImportOptions::default(),
    )
    .await;
    assert_eq!(cancelled.status, ImportStatus::Cancelled);

    let history = list_imports(store, &ctx, 10).await.expect("history");
    let status_of = |id: i64| {
        history
            .iter()
            .find(|e| e.id == id)
            .expect("an entry")
            .status
    };
    let revert_entry = history
        .iter()
        .find(|e| e.kind == JobKind::Revert)
        .expect("the revert is recorded");
    assert_eq!(revert_entry.status, JobStatus::Cancelled);
    assert_eq!(status_of(import_id), JobStatus::Applied, "nothing undone");
    assert_eq!(
        status_of(preview_id),
        JobStatus::DryRun,
        "still a preview to apply"
    );
    let again = revert_import(store, import_id, false, &ctx)
        .await
        .expect("the import can still be reverted");
    assert_eq!((again.status, again.removed), (ImportStatus::Applied, 1));
}

scenarios!(
    a_missing_import_is_not_found_for_every_use_case_that_names_one,
    applying_or_reverting_twice_is_a_conflict,
    a_request_that_cannot_be_written_as_asked_is_invalid,
    an_actor_lacking_a_permission_is_forbidden_in_every_use_case,
    a_cancelled_job_is_a_status_of_its_report_not_an_error,
);
