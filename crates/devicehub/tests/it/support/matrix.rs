//! The authorization matrix as a reviewable file: every cell (operation × caller × context)
//! a matrix test walked, with the status and problem code the server answered, is compared
//! with `crates/devicehub/tests/authz/<name>.tsv`. A change of any answer, or a new endpoint's
//! rows, fails the test until the file is regenerated (`UPDATE_AUTHZ_MATRIX=1 cargo xtask test
//! -- matrix`) and the diff reviewed.

use std::{collections::BTreeSet, fs, path::PathBuf};

use reqwest::blocking::Response;

use super::Backend;

/// One walked cell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cell {
    /// `METHOD /path/{placeholder}`.
    pub(crate) operation: String,
    pub(crate) caller: String,
    pub(crate) context: String,
    pub(crate) status: u16,
    /// The problem `code` of an error answer, `-` for a success.
    pub(crate) code: String,
}

impl Cell {
    /// Records `response` (consuming its body for the problem code).
    pub(crate) fn of(operation: &str, caller: &str, context: &str, response: Response) -> Cell {
        let status = response.status().as_u16();
        let code = if status >= 400 {
            response
                .json::<serde_json::Value>()
                .ok()
                .and_then(|body| body["code"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "?".into())
        } else {
            "-".into()
        };
        Cell {
            operation: operation.into(),
            caller: caller.into(),
            context: context.into(),
            status,
            code,
        }
    }
}

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/authz").join(format!("{name}.tsv"))
}

const HEADER: &str = "# operation\tcaller\tcontext\tstatus\tcode";

fn render(cells: &BTreeSet<Cell>) -> String {
    let mut text = format!("{HEADER}\n");
    for c in cells {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            c.operation, c.caller, c.context, c.status, c.code
        ));
    }
    text
}

/// Compares the walked cells with the committed table (or rewrites it when
/// `UPDATE_AUTHZ_MATRIX` is set, from the SQLite run).
pub(crate) fn check_table(name: &str, backend: Backend, cells: &[Cell]) {
    let cells: BTreeSet<Cell> = cells.iter().cloned().collect();
    let path = file(name);
    let walked = render(&cells);
    if std::env::var_os("UPDATE_AUTHZ_MATRIX").is_some() {
        if backend == Backend::Sqlite {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, &walked).unwrap();
        }
        return;
    }
    let committed = fs::read_to_string(&path).unwrap_or_default();
    if committed == walked {
        return;
    }
    let old: BTreeSet<&str> = committed.lines().collect();
    let new: BTreeSet<&str> = walked.lines().collect();
    let gone: Vec<&&str> = old.difference(&new).collect();
    let added: Vec<&&str> = new.difference(&old).collect();
    panic!(
        "the {name} authorization matrix differs from {} ({} rows walked):\n  only in the file: {gone:#?}\n  only in this run: {added:#?}\n\
         review the change, then regenerate with UPDATE_AUTHZ_MATRIX=1",
        path.display(),
        cells.len()
    );
}
