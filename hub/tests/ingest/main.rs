//! Ingest end to end: files uploaded over real mutual TLS to a hub on 127.0.0.1, ingested,
//! and what is stored and answered checked — every reason code, results, routing, seals,
//! blacklists — on SQLite and on PostgreSQL; and the `hutong ingest` binary (crash and
//! restart, flat memory, its CLI companions).

#[path = "../exchange/harness.rs"]
#[allow(dead_code)]
mod harness;

mod binary;
mod lab;
mod outputs;
mod records;
mod whole_file;

/// Expands each named `async fn(Lab)` into `NAME::on_sqlite` and `NAME::on_postgres` (the
/// latter passes with a note when `DATABASE_URL` is not set).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn on_sqlite() {
                    let lab = $crate::lab::Lab::start(false).await.unwrap();
                    super::$name(lab).await;
                }

                #[tokio::test]
                async fn on_postgres() {
                    let Some(lab) = $crate::lab::Lab::start(true).await else {
                        eprintln!("DATABASE_URL is not set: PostgreSQL not tested");
                        return;
                    };
                    super::$name(lab).await;
                }
            }
        )*
    };
}
