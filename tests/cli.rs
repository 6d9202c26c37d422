//! The command line: argv[0] aliases, config validation messages and exit codes, and the
//! generated completions/man pages being up to date.

mod common;

use common::*;
use std::process::Command;

#[test]
fn kafka_server_start_alias_runs_server_start() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["kafka-server-start.sh", "kafka-server-start"] {
        let link = dir.path().join(name);
        std::os::unix::fs::symlink(rk_bin(), &link).unwrap();
        let out = Command::new(&link).arg("--help").output().unwrap();
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("--override"), "{name}: {help}");
    }
}

#[test]
fn invalid_config_values_name_the_key_and_exit_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("server.properties");
    std::fs::write(&props, "num.partitions=lots\n").unwrap();
    let out = Command::new(rk_bin()).args(["server", "start"]).arg(&props).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("num.partitions"), "{err}");
    let out = Command::new(rk_bin()).args(["server", "start", "--override", "log.segment.bytes=-1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("log.segment.bytes"));
    let out = Command::new(rk_bin()).args(["server", "start", "--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn properties_file_and_unknown_keys_warn() {
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("server.properties");
    let port = free_port();
    std::fs::write(&props, format!("listeners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={}\nmystery.key=1\n", dir.path().join("d").display()))
        .unwrap();
    let child = Command::new(rk_bin())
        .args(["server", "start"])
        .arg(&props)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ok = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(ok, "broker listened on the configured port");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("mystery.key"), "unknown key warned: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ready on"), "{stdout}");
    assert!(dir.path().join("d/meta.properties").exists());
    assert!(dir.path().join("d/.rk_clean_shutdown").exists(), "clean shutdown marker written");
}

#[test]
fn second_broker_on_same_data_dir_is_refused() {
    let b = TestBroker::start();
    let out = Command::new(rk_bin())
        .args(["server", "start", "--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(b.data_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"));
}

#[test]
fn completions_and_man_pages_are_up_to_date() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, shell) in rk::cli::completions::completion_files() {
        let want = rk::cli::completions::completion_script(shell);
        let have = std::fs::read_to_string(root.join("completions").join(file)).unwrap_or_default();
        assert!(have == want, "completions/{file} is stale: run scripts/gen-docs");
    }
    let pages = rk::cli::completions::man_pages().unwrap();
    for (name, text) in &pages {
        let have = std::fs::read(root.join("man").join(name)).unwrap_or_default();
        assert!(&have == text, "man/{name} is stale: run scripts/gen-docs");
    }
    let on_disk = std::fs::read_dir(root.join("man")).unwrap().count();
    assert_eq!(on_disk, pages.len(), "man/ holds pages for commands that no longer exist: run scripts/gen-docs");
}
