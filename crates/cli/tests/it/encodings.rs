//! SPEC §2: CSV encodings are detected (UTF-8 with or without BOM, UTF-16 LE/BE with BOM,
//! Windows-1252 fallback) and delimiters sniffed (`,` `;` tab); `--encoding` and `--delimiter`
//! override. The same users in any of them make the same store.

use crate::support::{assert_counts, both, utf16be_bom, utf16le_bom, windows1252, Store};

const USERS: &str = "Username,Name,Department,E-mail,Phone,Active,Locale,Timezone\r\n\
zoe,Zoë Müller,Forschung & Entwicklung,zoe@example.com,+49 30 123456,Yes,de-DE,Europe/Berlin\r\n\
jose,José Ñúñez,Ventas,jose@example.com,0034 91 123 45 67,No,es-ES,Europe/Madrid\r\n";

fn same_users_in_every_encoding(store: &Store) {
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("utf8.csv", USERS.as_bytes().to_vec()),
        (
            "utf8bom.csv",
            [b"\xEF\xBB\xBF".as_slice(), USERS.as_bytes()].concat(),
        ),
        ("utf16le.csv", utf16le_bom(USERS)),
        ("utf16be.csv", utf16be_bom(USERS)),
        ("cp1252.csv", windows1252(USERS)),
    ];
    let mut reference = None;
    for (i, (name, bytes)) in variants.iter().enumerate() {
        let path = store.file(name, bytes);
        let report = store.import_ok(&path, &[]);
        if i == 0 {
            assert_counts(&report, 2, 0, 0, 0);
        } else {
            // Decoded differently, a name would differ and the row would be an update.
            assert_counts(&report, 0, 0, 2, 0);
        }
        let table = store.table("users", &[]);
        assert_eq!(table.get("zoe", "Name"), "Zoë Müller", "after {name}");
        assert_eq!(table.get("jose", "Name"), "José Ñúñez", "after {name}");
        assert_eq!(
            table.get("zoe", "Department"),
            "Forschung & Entwicklung",
            "after {name}"
        );
        match &reference {
            None => reference = Some(table),
            Some(first) => assert_eq!(&table, first, "the export after {name} differs"),
        }
    }
}

fn delimiters_are_sniffed(store: &Store) {
    store.import_csv_ok("comma.csv", USERS, &[]);
    for (name, delimiter) in [("semicolon.csv", ";"), ("tab.csv", "\t")] {
        // No field of USERS holds a `;` or a tab, so a plain replacement is a faithful conversion.
        let text = USERS.replace(',', delimiter);
        let report = store.import_csv_ok(name, &text, &[]);
        assert_counts(&report, 0, 0, 2, 0);
    }
    // A `;` file whose names hold commas: the commas must stay inside the cells.
    let report = store.import_csv_ok(
        "commas.csv",
        "Username;Name;Department\nzoe;Müller, Zoë;Forschung & Entwicklung\n",
        &[],
    );
    assert_counts(&report, 0, 1, 0, 0);
    assert_eq!(store.table("users", &[]).get("zoe", "Name"), "Müller, Zoë");
}

fn delimiter_override(store: &Store) {
    store.import_csv_ok("comma.csv", USERS, &[]);
    let text = USERS.replace(',', "|");
    let report = store.import_csv_ok("pipe.csv", &text, &["--delimiter", "|"]);
    assert_counts(&report, 0, 0, 2, 0);
    let report = store.import_csv_ok(
        "tab.csv",
        &USERS.replace(',', "\t"),
        &["--delimiter", "tab"],
    );
    assert_counts(&report, 0, 0, 2, 0);
}

fn encoding_override(store: &Store) {
    store.import_csv_ok("utf8.csv", USERS, &[]);
    // Windows-1252 said out loud reads the same.
    let path = store.file("cp1252.csv", windows1252(USERS));
    let report = store.import_ok(&path, &["--encoding", "windows-1252"]);
    assert_counts(&report, 0, 0, 2, 0);
    // The override wins over detection: UTF-8 bytes read as Windows-1252 are mojibake, so both
    // names change (José → JosÃ©).
    let path = store.file("utf8-as-1252.csv", USERS);
    let report = store.import_ok(&path, &["--encoding", "windows-1252"]);
    assert_counts(&report, 0, 2, 0, 0);
    assert_eq!(
        store.table("users", &[]).get("jose", "Name"),
        "JosÃ© Ã‘ÃºÃ±ez"
    );
    // Windows-1252 bytes forced through UTF-8 are an error, not a silent repair, and change nothing.
    let before = store.snapshot();
    let path = store.file("cp1252-as-utf8.csv", windows1252(USERS));
    let out = store.import(&path, &["--encoding", "utf-8"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "rejected", "{report:#}");
    assert!(
        report["issue_count"].as_u64().unwrap_or(0) >= 1,
        "{report:#}"
    );
    assert_eq!(store.snapshot(), before);
}

both!(
    same_users_in_every_encoding,
    delimiters_are_sniffed,
    delimiter_override,
    encoding_override
);
