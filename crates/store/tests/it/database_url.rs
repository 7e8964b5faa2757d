//! DatabaseUrl: the password never reaches Debug or Display; the backend follows the scheme.

use muster_store::{Backend, DatabaseUrl};

#[test]
fn debug_and_display_hide_the_password() {
    let url = DatabaseUrl::new("postgres://u:secret@h/db");
    for shown in [
        format!("{url}"),
        format!("{url:?}"),
        format!("{:?}", Some(&url)),
    ] {
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("u:"), "the user stays visible: {shown}");
        assert!(
            shown.contains("@h/db"),
            "host and database stay visible: {shown}"
        );
    }
    assert_eq!(
        url.expose(),
        "postgres://u:secret@h/db",
        "the driver still gets the password"
    );
}

#[test]
fn a_password_with_query_parameters_is_hidden_too() {
    let url = DatabaseUrl::new("postgresql://admin:s3cr3t@db.example:5432/muster?sslmode=require");
    assert!(!url.to_string().contains("s3cr3t"), "{url}");
    assert!(!format!("{url:?}").contains("s3cr3t"), "{url:?}");
}

#[test]
fn the_backend_follows_the_scheme() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(
        DatabaseUrl::sqlite_in(dir.path()).backend(),
        Some(Backend::Sqlite)
    );
    assert_eq!(
        DatabaseUrl::new("postgres://h/db").backend(),
        Some(Backend::Postgres)
    );
    assert_eq!(
        DatabaseUrl::new("postgresql://h/db").backend(),
        Some(Backend::Postgres)
    );
    assert_eq!(DatabaseUrl::new("mysql://h/db").backend(), None);
}
