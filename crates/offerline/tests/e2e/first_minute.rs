//! A newcomer's first minute and an operator's logs: the CLI as someone types it, with
//! the URLs they write, its output read from a pipe. What it must do: create a SQLite file
//! that is missing, report a database it cannot open in one line that names it, never print
//! a database password, and keep colour codes out of output that is not a terminal.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::helpers::{Db, Server};

/// `offerline <args>` in `dir` with `OFFERLINE_DATABASE_URL=url`, output piped.
fn offerline(dir: &Path, url: &str, log: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_offerline"));
    cmd.args(args).current_dir(dir).env("OFFERLINE_DATABASE_URL", url).env_remove("RUST_BACKTRACE");
    match log {
        Some(level) => cmd.env("OFFERLINE_LOG", level),
        None => cmd.env_remove("OFFERLINE_LOG"),
    };
    cmd.output().expect("run offerline")
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("offerline-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn sqlite_urls_as_written_create_their_file() {
    let dir = temp_dir("first-minute");
    let out = offerline(&dir, "sqlite://shop.db", None, &["migrate"]);
    assert!(out.status.success(), "relative URL: {:?}", text(&out));
    assert!(dir.join("shop.db").is_file(), "sqlite://shop.db creates shop.db in the working directory");

    let abs = dir.join("sub-abs.db");
    let out = offerline(&dir, &format!("sqlite://{}", abs.display()), None, &["migrate"]);
    assert!(out.status.success(), "absolute URL: {:?}", text(&out));
    assert!(abs.is_file());

    // An explicit mode is still honoured, and the file then serves a second migrate.
    let out = offerline(&dir, "sqlite://shop.db?mode=rw", None, &["migrate"]);
    assert!(out.status.success(), "mode=rw on an existing file: {:?}", text(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_unopenable_sqlite_url_is_one_line_naming_the_path() {
    let dir = temp_dir("unopenable");
    let missing = dir.join("no-such-dir").join("shop.db");
    let cases = [
        (format!("sqlite://{}", missing.display()), missing.display().to_string(), "does not exist"),
        (format!("sqlite://{}", dir.display()), dir.display().to_string(), "directory"),
        ("sqlite://absent.db?mode=ro".to_owned(), "absent.db".to_owned(), "no such file"),
    ];
    for (url, path, why) in cases {
        let out = offerline(&dir, &url, None, &["migrate"]);
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "{url} must fail");
        assert_eq!(stderr.lines().count(), 1, "{url}: exactly one line on stderr, got:\n{stderr}");
        assert!(stderr.contains(&path) && stderr.contains(why), "{url}: names {path} and why ({why}): {stderr}");
        assert!(!stderr.contains("backtrace") && !stderr.contains("Caused by"), "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_password_with_an_unencoded_at_never_shows() {
    let dir = temp_dir("password");
    // An unresolvable host fails at once (a closed port is retried for the pool's 30 s),
    // an unknown scheme before any connection; debug logging shows whatever the drivers log.
    let urls = [
        "postgres://user:s3cr3t@p4ss@offerline-test.invalid:5432/db",
        "postgresql://user:s3cr3t@p4ss@offerline-test.invalid/db?sslmode=disable",
        "mysql://user:s3cr3t@p4ss@offerline-test.invalid/db",
    ];
    for url in urls {
        for log in [None, Some("debug")] {
            let out = offerline(&dir, url, log, &["migrate"]);
            let (stdout, stderr) = text(&out);
            assert!(!out.status.success(), "{url} must fail");
            for secret in ["s3cr3t", "p4ss"] {
                assert!(
                    !stdout.contains(secret) && !stderr.contains(secret),
                    "{url} leaks {secret}:\n{stdout}\n{stderr}"
                );
            }
            assert!(stderr.contains("user:***@"), "the URL is named, its password hidden: {stderr}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cli_logs_carry_no_colour_codes_off_a_terminal() {
    let dir = temp_dir("ansi");
    let out = offerline(&dir, "sqlite://shop.db", Some("debug"), &["migrate"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("DEBUG"), "debug logging shows something to check: {stderr}");
    assert!(!stderr.contains("\x1b[") && !stdout.contains("\x1b["), "colour codes in piped output:\n{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_logs_carry_no_colour_codes_off_a_terminal() {
    let s = Server::start_logged(Db::Sqlite, "info").await;
    let (st, _) = s.send("GET", "/healthz", None, None).await;
    assert_eq!(st, 200);
    let mut logs = s.logs();
    for _ in 0..50 {
        if logs.contains("serving") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        logs = s.logs();
    }
    assert!(logs.contains("serving"), "the server logs at info: {logs}");
    assert!(!logs.contains("\x1b["), "colour codes in a log file:\n{logs}");
}
