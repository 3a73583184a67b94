//! The JQL subset the simulator understands: clauses joined by AND —
//! `project = X`, `issuekey IN (A-1, A-2)` / `issuekey = A-1`, and
//! `"Field name" IN aqlFunction("AQL")` — optionally followed by `ORDER BY ...` (ignored).

use crate::ws::Workspace;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    LParen,
    RParen,
    Comma,
    Eq,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(&c) = it.peek() {
        match c {
            c if c.is_whitespace() => {
                it.next();
            }
            '(' | ')' | ',' | '=' => {
                it.next();
                out.push(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    ',' => Tok::Comma,
                    _ => Tok::Eq,
                });
            }
            '"' | '\'' => {
                it.next();
                let mut v = String::new();
                loop {
                    match it.next() {
                        None => return Err("unterminated string".into()),
                        Some('\\') => v.extend(it.next()),
                        Some(x) if x == c => break,
                        Some(x) => v.push(x),
                    }
                }
                out.push(Tok::Quoted(v));
            }
            _ => {
                let mut v = String::new();
                while let Some(&x) = it.peek() {
                    if x.is_whitespace() || "(),=\"'".contains(x) {
                        break;
                    }
                    v.push(x);
                    it.next();
                }
                out.push(Tok::Word(v));
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Clause {
    Project(String),
    Keys(Vec<String>),
    Aql { field: String, aql: String },
}

#[derive(Debug, Clone)]
pub struct Filter(Vec<Clause>);

fn text(t: Option<&Tok>) -> Option<String> {
    match t {
        Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => Some(w.clone()),
        _ => None,
    }
}

fn is_kw(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

pub fn parse(jql: &str) -> Result<Filter, String> {
    let toks = lex(jql)?;
    let mut i = 0;
    let mut clauses = Vec::new();
    while i < toks.len() {
        if is_kw(toks.get(i), "ORDER") {
            break;
        }
        let field =
            text(toks.get(i)).ok_or_else(|| format!("expected a field at token {}", i + 1))?;
        i += 1;
        let lower = field.to_ascii_lowercase();
        match toks.get(i) {
            Some(Tok::Eq) => {
                i += 1;
                let v = text(toks.get(i)).ok_or("expected a value after '='")?;
                i += 1;
                match lower.as_str() {
                    "project" => clauses.push(Clause::Project(v)),
                    "issuekey" | "key" => clauses.push(Clause::Keys(vec![v])),
                    _ => {
                        return Err(format!(
                            "the field '{field}' only supports IN aqlFunction(...)"
                        ));
                    }
                }
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") => {
                i += 1;
                if is_kw(toks.get(i), "aqlFunction") {
                    if toks.get(i + 1) != Some(&Tok::LParen)
                        || toks.get(i + 3) != Some(&Tok::RParen)
                    {
                        return Err("aqlFunction takes one quoted AQL argument".into());
                    }
                    let aql =
                        text(toks.get(i + 2)).ok_or("aqlFunction takes one quoted AQL argument")?;
                    clauses.push(Clause::Aql { field, aql });
                    i += 4;
                } else {
                    if toks.get(i) != Some(&Tok::LParen) {
                        return Err("expected '(' after IN".into());
                    }
                    i += 1;
                    let mut keys = Vec::new();
                    loop {
                        match toks.get(i) {
                            Some(Tok::RParen) => {
                                i += 1;
                                break;
                            }
                            Some(Tok::Comma) => i += 1,
                            t => {
                                keys.push(text(t).ok_or("unclosed IN list")?);
                                i += 1;
                            }
                        }
                    }
                    if !matches!(lower.as_str(), "issuekey" | "key" | "project") {
                        return Err(format!("the field '{field}' does not support IN (...)"));
                    }
                    clauses.push(if lower == "project" {
                        Clause::Keys(Vec::new()).project_list(keys)
                    } else {
                        Clause::Keys(keys)
                    });
                }
            }
            _ => return Err(format!("expected '=' or IN after '{field}'")),
        }
        if i < toks.len() && !is_kw(toks.get(i), "ORDER") {
            if !is_kw(toks.get(i), "AND") {
                return Err(format!("expected AND at token {}", i + 1));
            }
            i += 1;
        }
    }
    Ok(Filter(clauses))
}

impl Clause {
    fn project_list(self, keys: Vec<String>) -> Clause {
        Clause::Project(keys.join(","))
    }
}

impl Filter {
    /// Ids of the matching issues, in issue id order.
    pub fn run(&self, ws: &Workspace, aql: &crate::aql::Cache) -> Result<Vec<u32>, String> {
        let mut sets = Vec::new();
        for c in &self.0 {
            if let Clause::Aql { field, aql: q } = c {
                let f = ws
                    .fields
                    .iter()
                    .find(|f| f.name.eq_ignore_ascii_case(field) || f.id == *field)
                    .ok_or_else(|| format!("the field '{field}' does not exist"))?;
                let hits: std::collections::HashSet<u32> =
                    aql.search(ws, q)?.iter().copied().collect();
                sets.push((f.id.clone(), hits));
            }
        }
        Ok(ws
            .issues
            .values()
            .filter(|i| {
                self.0.iter().all(|c| match c {
                    Clause::Project(p) => p.split(',').any(|p| p.eq_ignore_ascii_case(&i.project)),
                    Clause::Keys(k) => k.iter().any(|k| k.eq_ignore_ascii_case(&i.key)),
                    Clause::Aql { .. } => true,
                })
            })
            .filter(|i| {
                sets.iter().all(|(field, hits)| {
                    i.assets
                        .iter()
                        .any(|(f, ids)| f == field && ids.iter().any(|id| hits.contains(id)))
                })
            })
            .map(|i| i.id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_subset() {
        let f = parse(r#"project = ITSM AND "Affected assets" IN aqlFunction("Key = \"ITSM-5\"") ORDER BY created"#).unwrap();
        assert_eq!(f.0.len(), 2);
        assert!(
            matches!(&f.0[1], Clause::Aql { field, aql } if field == "Affected assets" && aql == "Key = \"ITSM-5\"")
        );
        let f = parse("issuekey IN (ITSM-1, ITSM-2)").unwrap();
        assert!(matches!(&f.0[0], Clause::Keys(k) if k.len() == 2));
        assert!(parse("project ~ X").is_err());
        assert!(parse("project = X OR project = Y").is_err());
        assert!(parse("\"Affected assets\" IN aqlFunction(").is_err());
    }
}
