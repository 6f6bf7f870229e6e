//! Reading the server's SQL trace (`devicehub --sql-trace FILE`, feature `sql-trace`): one
//! statement per line, `SQL -- binds: [VALUES]` with the values in Rust's debug notation.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// A bound value as the trace shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    /// A timestamp, `YYYY-MM-DD HH:MM:SS.ffffff` (the text both backends accept).
    Time(String),
    /// An array (PostgreSQL's `= ANY($1)`).
    List(Vec<Value>),
}

/// One statement the server ran: SQL with placeholders (`$n` or `?`) and its bound values.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) sql: String,
    pub(crate) binds: Vec<Value>,
}

pub(crate) fn parse(text: &str) -> anyhow::Result<Vec<Statement>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| parse_line(line).with_context(|| format!("trace line {line:?}")))
        .collect()
}

fn parse_line(line: &str) -> anyhow::Result<Statement> {
    let Some(at) = line.rfind(" -- binds: [") else {
        return Ok(Statement { sql: line.to_owned(), binds: Vec::new() });
    };
    let list = line[at + " -- binds: [".len()..].strip_suffix(']').context("unclosed binds")?;
    Ok(Statement { sql: line[..at].to_owned(), binds: parse_binds(list)? })
}

fn parse_binds(list: &str) -> anyhow::Result<Vec<Value>> {
    let mut rest = list.trim_start();
    let mut values = Vec::new();
    while !rest.is_empty() {
        let (value, after) = parse_value(rest)?;
        values.push(value);
        rest = after.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(values)
}

fn parse_value(s: &str) -> anyhow::Result<(Value, &str)> {
    if let Some(inner) = s.strip_prefix("Some(") {
        let (value, after) = parse_value(inner)?;
        return Ok((value, after.strip_prefix(')').context("unclosed Some(")?));
    }
    if let Some(after) = s.strip_prefix('"') {
        return parse_string(after);
    }
    if let Some(mut rest) = s.strip_prefix('[') {
        let mut items = Vec::new();
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix(']') {
                return Ok((Value::List(items), after));
            }
            let (item, after) = parse_value(rest)?;
            items.push(item);
            rest = after.trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    let end = s.find([',', ')', ']']).unwrap_or(s.len());
    let (token, after) = s.split_at(end);
    let token = token.trim();
    let value = match token {
        "None" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        t if t.contains('T') && t.contains(':') => Value::Time(t.replacen('T', " ", 1)),
        t => Value::Int(t.parse().with_context(|| format!("bind value {t:?}"))?),
    };
    Ok((value, after))
}

/// A Rust debug string literal, after its opening quote.
fn parse_string(s: &str) -> anyhow::Result<(Value, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((Value::Text(out), &s[i + 1..])),
            '\\' => {
                let escaped = match chars.next().map(|(_, e)| e) {
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('t') => '\t',
                    Some('0') => '\0',
                    Some('u') => {
                        let hex: String = chars
                            .by_ref()
                            .map(|(_, h)| h)
                            .skip(1)
                            .take_while(|h| *h != '}')
                            .collect();
                        char::from_u32(u32::from_str_radix(&hex, 16)?).context("bad \\u escape")?
                    }
                    Some(other) => other,
                    None => bail!("string ends in a backslash"),
                };
                out.push(escaped);
            }
            c => out.push(c),
        }
    }
    bail!("unclosed string")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_bind() {
        let line = r#"INSERT INTO t (a, b, c, d, e, f) VALUES (?, ?, ?, ?, ?, ?) -- binds: ["x\"y", 1, None, Some(-2), true, 2026-11-23T13:55:51.602970]"#;
        let statement = parse_line(line).unwrap();
        assert_eq!(statement.sql, "INSERT INTO t (a, b, c, d, e, f) VALUES (?, ?, ?, ?, ?, ?)");
        assert_eq!(
            statement.binds,
            [
                Value::Text("x\"y".into()),
                Value::Int(1),
                Value::Null,
                Value::Int(-2),
                Value::Bool(true),
                Value::Time("2026-11-23 13:55:51.602970".into()),
            ]
        );
    }

    #[test]
    fn statements_without_binds_stay_whole() {
        let statement = parse_line("BEGIN IMMEDIATE").unwrap();
        assert_eq!((statement.sql.as_str(), statement.binds.len()), ("BEGIN IMMEDIATE", 0));
        assert!(parse_line("SELECT 1 -- binds: []").unwrap().binds.is_empty());
        assert!(parse_line(r#"SELECT ? -- binds: ["open]"#).is_err());
        let list = parse_line("SELECT $1 -- binds: [[1, 2], 3]").unwrap().binds;
        assert_eq!(list, [Value::List(vec![Value::Int(1), Value::Int(2)]), Value::Int(3)]);
    }

    #[test]
    fn json_text_with_escapes_round_trips() {
        let line = r#"X -- binds: ["{\"cpu_serial\":\"S-1\",\"n\":\"\u{7f}\\\"}"]"#;
        let binds = parse_line(line).unwrap().binds;
        assert_eq!(binds, [Value::Text("{\"cpu_serial\":\"S-1\",\"n\":\"\u{7f}\\\"}".into())]);
    }
}
