//! Helpers shared by the end-to-end tests (each test file includes this module; not every
//! file uses every helper).
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use assert_cmd::prelude::*;
use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The binary under test, with no model override from the caller's environment and no colour,
/// in float32: auto picks the precision by the CPU, and the suite's figures and snapshots must
/// not depend on which CPU runs it (tests of auto remove `CONTROLMAP_PRECISION`).
pub fn controlmap() -> Command {
    let mut c = Command::cargo_bin("controlmap").unwrap();
    c.env_remove("CONTROLMAP_MODEL")
        .env("NO_COLOR", "1")
        .env("CONTROLMAP_PRECISION", "f32");
    c
}

/// `controlmap run --format json` on `dir` into `ws`; the report it prints.
pub fn run_json(dir: &Path, ws: &Path) -> Value {
    let out = controlmap()
        .args(["run", "--format", "json", "--quiet", "--workspace"])
        .arg(ws)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is the JSON report")
}

/// JSON Lines output, one value a line.
pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every control of a report, in order.
pub fn controls(report: &Value) -> Vec<&Value> {
    report["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["controls"].as_array().unwrap())
        .collect()
}

/// `controlmap search --format json` in workspace `ws`; its results.
pub fn search_json(ws: &Path, args: &[&str]) -> Vec<Value> {
    let out = controlmap()
        .args(["search", "-q", "--format", "json", "--workspace"])
        .arg(ws)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout)
}

/// Runs `cmd`, asserts it succeeded (showing its stderr if not), and returns its output.
pub fn ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd`, asserts it failed, and returns its stderr.
pub fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).unwrap();
    for e in fs_err::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs_err::copy(e.path(), dest).unwrap();
        }
    }
}
