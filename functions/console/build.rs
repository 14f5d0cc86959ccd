//! Builds the console's scripts and stylesheet with esbuild (`web/build.mjs`, from the npm
//! packages the root package-lock.json pins) into OUT_DIR, and writes `assets.rs`: each
//! fingerprinted file, with its brotli and gzip forms, embedded in the binary. A cold
//! Lambda then reads no file and compresses nothing.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let crate_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let repo_root = crate_dir.join("../..");
    let web = crate_dir.join("web");
    for watched in ["build.mjs", "src"] {
        println!("cargo::rerun-if-changed={}", web.join(watched).display());
    }
    println!(
        "cargo::rerun-if-changed={}",
        repo_root.join("package-lock.json").display()
    );
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let assets_dir = out_dir.join("assets");
    let _ = fs::remove_dir_all(&assets_dir);
    let node = env::var("NODE").unwrap_or_else(|_| "node".to_owned());
    let status = Command::new(&node)
        .arg(web.join("build.mjs"))
        .arg(&assets_dir)
        .current_dir(&repo_root)
        .status()
        .unwrap_or_else(|err| {
            panic!(
                "cannot run {node} ({err}): the console's assets are built with Node (20 or \
                 newer) and esbuild; install Node, then run `npm ci` at the repository root"
            )
        });
    assert!(
        status.success(),
        "building the console's assets failed ({status}); see the output above (run `npm ci` \
         at the repository root if node_modules is missing or stale)"
    );
    write_table(&assets_dir, &out_dir.join("assets.rs"));
}

/// `ASSETS`: one `Asset` per entry of build.mjs's manifest.json.
fn write_table(assets_dir: &Path, table: &Path) {
    let manifest_path = assets_dir.join("manifest.json");
    let manifest = fs::read_to_string(&manifest_path)
        .unwrap_or_else(|err| panic!("{}: {err}", manifest_path.display()));
    let manifest: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&manifest).expect("build.mjs writes a JSON object");
    let mut code = String::from("pub static ASSETS: &[Asset] = &[\n");
    for (logical, entry) in &manifest {
        let file = entry["file"].as_str().expect("each entry names its file");
        let content_type = entry["content_type"]
            .as_str()
            .expect("each entry has a content type");
        let path = |suffix: &str| {
            assets_dir
                .join(format!("{file}{suffix}"))
                .display()
                .to_string()
        };
        writeln!(
            code,
            "    Asset {{ logical: {logical:?}, file: {file:?}, content_type: {content_type:?}, \
             identity: include_bytes!({:?}), brotli: include_bytes!({:?}), gzip: include_bytes!({:?}) }},",
            path(""),
            path(".br"),
            path(".gz"),
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    fs::write(table, code).unwrap_or_else(|err| panic!("{}: {err}", table.display()));
}
