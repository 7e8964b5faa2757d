//! Tells the tests whether PostgreSQL is configured. With `MUSTER_TEST_POSTGRES_URL` set at build
//! time the crate is compiled with `cfg(muster_postgres)`; without it, every PostgreSQL test is
//! marked ignored with the reason, so `cargo test` ends with "N ignored" and names them, instead
//! of printing `ok` for tests that never ran. Nothing outside the tests looks at the cfg.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(muster_postgres)");
    println!("cargo::rerun-if-env-changed=MUSTER_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-changed=build.rs");
    let configured =
        std::env::var("MUSTER_TEST_POSTGRES_URL").is_ok_and(|url| !url.trim().is_empty());
    if configured {
        println!("cargo::rustc-cfg=muster_postgres");
    }
}
