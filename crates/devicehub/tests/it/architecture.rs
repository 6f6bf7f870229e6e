//! The architecture as tests: crate edges follow contract §1 and every domain crate exposes
//! only its `providers` facade.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    process::Command,
};

use serde_json::Value;

const DOMAINS: [&str; 5] =
    ["audit", "user_authorization", "device_core", "device_access", "device_provisioning"];

/// Which workspace crates each workspace crate may depend on (normal dependencies).
fn allowed_edges() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let edges: [(&str, &[&str]); 8] = [
        ("foundation", &[]),
        ("audit", &["foundation"]),
        ("user_authorization", &["foundation", "audit"]),
        ("device_core", &["foundation", "audit"]),
        ("device_access", &["foundation", "device_core", "user_authorization", "audit"]),
        (
            "device_provisioning",
            &["foundation", "audit", "user_authorization", "device_core", "device_access"],
        ),
        (
            "devicehub",
            &[
                "foundation",
                "audit",
                "user_authorization",
                "device_core",
                "device_access",
                "device_provisioning",
            ],
        ),
        // Developer tool: the benchmark seeds and replays SQL through the shared database
        // layer, never through a domain crate.
        ("xtask", &["foundation"]),
    ];
    edges.into_iter().map(|(krate, deps)| (krate, deps.iter().copied().collect())).collect()
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn crate_edges_follow_the_contract() {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let members: BTreeSet<&str> = packages.iter().map(|p| p["name"].as_str().unwrap()).collect();
    let allowed = allowed_edges();
    assert_eq!(members, allowed.keys().copied().collect(), "workspace crates changed");

    let mut wrong = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap();
        for dep in package["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            let is_dev = dep["kind"] == "dev";
            if members.contains(dep_name) && !is_dev && !allowed[name].contains(dep_name) {
                wrong.push(format!("{name} -> {dep_name}"));
            }
        }
    }
    assert!(wrong.is_empty(), "crate edges not allowed by contract §1: {wrong:?}");
}

#[test]
fn domain_crates_expose_only_their_providers() {
    for domain in DOMAINS {
        let path = workspace_root().join("crates").join(domain).join("src/lib.rs");
        let lib = std::fs::read_to_string(&path).unwrap();
        let public: Vec<&str> = lib
            .lines()
            .map(str::trim_start)
            .filter(|line| line.starts_with("pub ") || line.starts_with("pub("))
            .filter(|line| !line.starts_with("pub(crate)"))
            .collect();
        assert_eq!(public, ["pub mod providers;"], "{}", path.display());
    }
}
