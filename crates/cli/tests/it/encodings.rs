//! SPEC §2: CSV encodings are detected (UTF-8 with or without BOM, UTF-16 LE/BE with BOM,
//! Windows-1252 fallback) and delimiters sniffed (`,` `;` tab); `--encoding` and `--delimiter`
//! override. The same users in any of them make the same store.

use crate::support::{
    assert_counts, assert_error, both, errors, utf16be_bom, utf16le_bom, windows1252, Store,
};

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

/// USERS, then a row whose name holds a lone Windows-1252 byte (`é` as 0xE9, invalid in UTF-8)
/// and a UTF-8 row after it: a UTF-8 file with a few bad bytes, as a copy and paste makes.
fn utf8_with_one_bad_row() -> Vec<u8> {
    [
        USERS.as_bytes(),
        b"andre,Andr\xe9 Blanc,Ventas,andre@example.com,,Yes,fr-FR,Europe/Paris\r\n",
        "joerg,Jörg Weiß,Ventas,joerg@example.com,,Yes,de-DE,Europe/Berlin\r\n".as_bytes(),
    ]
    .concat()
}

/// Issue 7 item 5: the file is UTF-8 (valid multi-byte names on most rows), so the bad byte fails
/// its own row with a positioned error, and no valid name is ever read as Windows-1252 mojibake.
fn utf8_with_a_few_bad_bytes(store: &Store) {
    let path = store.file("mostly-utf8.csv", utf8_with_one_bad_row());
    for extra in [&[][..], &["--encoding", "utf-8"][..]] {
        // Atomic: the bad row rejects the import, which changes nothing.
        let before = store.snapshot();
        let out = store.import(&path, extra);
        assert_eq!(out.code, 1, "{extra:?}: {}\n{}", out.stdout, out.stderr);
        let report = out.json();
        assert_eq!(report["status"], "rejected", "{report:#}");
        assert_error(
            &report,
            "mostly-utf8",
            4,
            Some("Name"),
            "invalid UTF-8 byte 0xE9",
        );
        assert_eq!(errors(&report).len(), 1, "{report:#}");
        assert_eq!(store.snapshot(), before);
    }
    // Partial: the good rows apply, with their names intact.
    let out = store.import(&path, &["--partial"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let report = out.json();
    assert_eq!(report["status"], "applied", "{report:#}");
    assert_counts(&report, 3, 0, 0, 1);
    assert_error(
        &report,
        "mostly-utf8",
        4,
        Some("Name"),
        "invalid UTF-8 byte 0xE9",
    );
    let table = store.table("users", &[]);
    assert_eq!(table.keys(), ["joerg", "jose", "zoe"]);
    assert_eq!(table.get("zoe", "Name"), "Zoë Müller");
    assert_eq!(table.get("jose", "Name"), "José Ñúñez");
    assert_eq!(table.get("joerg", "Name"), "Jörg Weiß");
}

/// The other direction: lone high bytes and no valid multi-byte sequence is Windows-1252, even
/// with one accidental valid pair (`Ã©`, which is also UTF-8 for `é`) among them.
fn windows_1252_stays_the_fallback(store: &Store) {
    let text = format!("{USERS}ana,Ã© Ana,Ventas,ana@example.com,,Yes,es-ES,Europe/Madrid\r\n");
    let path = store.file("legacy.csv", windows1252(&text));
    let report = store.import_ok(&path, &[]);
    assert_counts(&report, 3, 0, 0, 0);
    let table = store.table("users", &[]);
    assert_eq!(table.get("zoe", "Name"), "Zoë Müller");
    assert_eq!(table.get("ana", "Name"), "Ã© Ana");
}

both!(
    utf8_with_a_few_bad_bytes,
    windows_1252_stays_the_fallback,
    same_users_in_every_encoding,
    delimiters_are_sniffed,
    delimiter_override,
    encoding_override
);
