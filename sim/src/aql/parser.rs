//! AQL lexer and parser: turns query text into the `Query` AST (conditions joined by AND / OR /
//! NOT and parentheses, plus an optional ORDER BY). Error texts name the token and its position
//! (1-based, in characters).

use super::{Cond, Expr, Field, Func, Op, OrderBy, Query, Special};
use crate::clock;
use crate::model::Millis;

const SPECIALS: [(&str, Special); 9] = [
    ("objectType", Special::ObjectType),
    ("objectTypeId", Special::ObjectTypeId),
    ("objectSchema", Special::ObjectSchema),
    ("objectSchemaId", Special::ObjectSchemaId),
    ("Key", Special::Key),
    ("objectId", Special::ObjectId),
    ("Label", Special::Label),
    ("Created", Special::Created),
    ("Updated", Special::Updated),
];

/// A value on the right of an operator, with its interpretations computed once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lit {
    pub text: String,
    pub lower: String,
    pub num: Option<f64>,
    /// As a date or date-time: `[start, end)` in epoch ms (a date covers its whole day).
    pub date: Option<(Millis, Millis)>,
    /// As an object key `SCHEMA-id`.
    pub key: Option<(String, u32)>,
    pub func: Option<Func>,
}

impl Lit {
    pub fn new(text: &str) -> Lit {
        let num = text.trim().parse::<f64>().ok().filter(|n| n.is_finite());
        let key = text
            .trim()
            .rsplit_once('-')
            .and_then(|(k, id)| Some((k.to_string(), id.parse::<u32>().ok()?)))
            .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric()));
        Lit {
            text: text.to_string(),
            lower: text.to_lowercase(),
            num,
            date: parse_date_lit(text.trim()),
            key,
            func: None,
        }
    }

    /// The value as an object / status / type id.
    pub fn id(&self) -> Option<u32> {
        self.num
            .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= u32::MAX as f64)
            .map(|n| n as u32)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const DAY: Millis = 86_400_000;

/// A date (`2024-01-31`, the whole day) or date-time (`2024-01-31T10:00Z`, `2024-01-31 10:00`,
/// offsets allowed; UTC when none) as `[start, end)`, the end following the given precision.
fn parse_date_lit(s: &str) -> Option<(Millis, Millis)> {
    if s.len() < 10 || !s.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    if let Some((y, m, d)) = clock::parse_date(s) {
        let start = days_from_civil(y.into(), m.into(), d.into()) * DAY;
        return Some((start, start + DAY));
    }
    let t = s.replacen(' ', "T", 1);
    let ms = clock::parse_datetime(&t).or_else(|| clock::parse_datetime(&format!("{t}Z")))?;
    let time = t.split_once('T').map(|x| x.1).unwrap_or("");
    let hms = time.split(['Z', 'z', '+', '-']).next().unwrap_or("");
    let width = if hms.contains('.') {
        1
    } else if hms.matches(':').count() >= 2 {
        1_000
    } else {
        60_000
    };
    Some((ms, ms + width))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
    Comma,
    Dot,
    Op(&'static str),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// 1-based character position.
    pos: usize,
    /// The source text, for messages.
    text: String,
}

/// An error message naming a position.
fn at(pos: usize, what: impl std::fmt::Display) -> String {
    format!("AQL: {what} at position {pos}")
}

fn lex(q: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (c, start) = (chars[i], i);
        i += 1;
        let tok = match c {
            c if c.is_whitespace() => continue,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '.' => Tok::Dot,
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.get(i) {
                        Some('"') => break,
                        Some('\\') if i + 1 < chars.len() => s.push(chars[i + 1]),
                        Some(&c) if c != '\\' => s.push(c),
                        _ => return Err(at(start + 1, "unclosed quote starting")),
                    }
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
                Tok::Str(s)
            }
            '=' | '!' | '<' | '>' => {
                let two = chars.get(i) == Some(&'=');
                i += usize::from(two);
                Tok::Op(match (c, two) {
                    ('=', true) => "==",
                    ('=', false) => "=",
                    ('!', true) => "!=",
                    ('<', true) => "<=",
                    ('<', false) => "<",
                    ('>', true) => ">=",
                    ('>', false) => ">",
                    _ => return Err(at(start + 1, "unknown operator '!'")),
                })
            }
            _ => {
                let word = |c: &char| !c.is_whitespace() && !"()\",=!<>".contains(*c);
                i += chars[i..].iter().take_while(|c| word(c)).count();
                Tok::Word(chars[start..i].iter().collect())
            }
        };
        out.push(Token {
            tok,
            pos: start + 1,
            text: chars[start..i].iter().collect(),
        });
    }
    out.push(Token {
        tok: Tok::End,
        pos: chars.len() + 1,
        text: String::new(),
    });
    Ok(out)
}

/// Words that cannot be bare values or field names.
const RESERVED: &str = "AND OR NOT IN IS LIKE ORDER STARTSWITH ENDSWITH";

fn reserved(w: &str) -> bool {
    RESERVED.split(' ').any(|r| w.eq_ignore_ascii_case(r))
}

fn unexpected(t: &Token) -> String {
    match t.tok {
        Tok::End => at(t.pos, "unexpected end of query"),
        _ => at(t.pos, format_args!("unexpected token '{}'", t.text)),
    }
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    conds: Vec<Cond>,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.i]
    }
    fn bump(&mut self) -> Token {
        let t = self.toks[self.i].clone();
        self.i = (self.i + 1).min(self.toks.len() - 1);
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
    /// Consumes the keyword if it is next.
    fn eat(&mut self, kw: &str) -> bool {
        let found = self.is_kw(kw);
        if found {
            self.bump();
        }
        found
    }
    fn expect(&mut self, ok: bool) -> Result<Token, String> {
        if ok {
            Ok(self.bump())
        } else {
            Err(unexpected(self.peek()))
        }
    }

    fn query(&mut self) -> Result<(Expr, Option<OrderBy>), String> {
        let empty = self.peek().tok == Tok::End || self.is_kw("ORDER");
        let expr = if empty { Expr::All } else { self.or()? };
        let mut order = None;
        if self.eat("ORDER") {
            self.expect(self.is_kw("BY"))?;
            let field = self.field()?;
            let desc = self.eat("DESC");
            if !desc {
                self.eat("ASC");
            }
            order = Some(OrderBy { field, desc });
        }
        self.expect(self.peek().tok == Tok::End)?;
        Ok((expr, order))
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.and()?];
        while self.eat("OR") {
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::Or(v)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.unary()?];
        while self.eat("AND") {
            v.push(self.unary()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::And(v)
        })
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat("NOT") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek().tok == Tok::LParen {
            let open = self.bump();
            let e = self.or()?;
            if self.peek().tok == Tok::End {
                return Err(at(open.pos, "missing ')' for the '('"));
            }
            self.expect(self.peek().tok == Tok::RParen)?;
            return Ok(e);
        }
        let cond = self.cond()?;
        self.conds.push(cond);
        Ok(Expr::Cond(self.conds.len() - 1))
    }

    /// Name segments of a field: bare words (split on '.') or quoted names, joined by '.'.
    fn segments(&mut self, out: &mut Vec<String>) -> Result<(), String> {
        let t = self.bump();
        match &t.tok {
            Tok::Word(w) if !reserved(w) => {
                out.extend(w.split('.').map(str::to_string));
                if w.ends_with('.') {
                    out.pop();
                    self.segments(out)?;
                }
            }
            Tok::Str(s) => out.push(s.clone()),
            _ => return Err(unexpected(&t)),
        }
        if self.peek().tok == Tok::Dot {
            self.bump();
            self.segments(out)?;
        }
        Ok(())
    }

    fn field(&mut self) -> Result<Field, String> {
        let pos = self.peek().pos;
        let mut segs = Vec::new();
        self.segments(&mut segs)?;
        let name = segs.join(".");
        if segs.iter().any(|s| s.trim().is_empty()) {
            return Err(at(pos, format_args!("invalid field name '{name}'")));
        }
        let special = |s: &str| {
            SPECIALS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(s.trim()))
        };
        let simple = |s: &String| match special(s) {
            Some((_, sp)) => Field::Special(*sp),
            None => Field::Attr {
                name: s.clone(),
                sub: None,
            },
        };
        match segs.as_slice() {
            [one] => Ok(simple(one)),
            [outer, inner] if special(outer).is_none() => Ok(Field::Attr {
                name: outer.clone(),
                sub: Some(Box::new(simple(inner))),
            }),
            [outer, _] => Err(at(
                pos,
                format_args!("field '{outer}' cannot be followed by '.'"),
            )),
            _ => Err(at(
                pos,
                format_args!("only one level of '.' is supported ('{name}')"),
            )),
        }
    }

    fn cond(&mut self) -> Result<Cond, String> {
        let field = self.field()?;
        let t = self.bump();
        let word = match &t.tok {
            Tok::Word(w) => w.to_ascii_uppercase(),
            Tok::End => return Err(format!("{}, expected an operator", unexpected(&t))),
            _ => String::new(),
        };
        let op = match (&t.tok, word.as_str()) {
            (Tok::Op("="), _) => Op::Eq,
            (Tok::Op("=="), _) => Op::EqCase,
            (Tok::Op("!="), _) => Op::Ne,
            (Tok::Op("<"), _) => Op::Lt,
            (Tok::Op(">"), _) => Op::Gt,
            (Tok::Op("<="), _) => Op::Le,
            (Tok::Op(">="), _) => Op::Ge,
            (_, "LIKE") => Op::Like,
            (_, "IN") => Op::In,
            (_, "STARTSWITH") => Op::StartsWith,
            (_, "ENDSWITH") => Op::EndsWith,
            (_, "NOT") if self.eat("LIKE") => Op::NotLike,
            (_, "NOT") if self.eat("IN") => Op::NotIn,
            (_, "NOT") => return Err(unexpected(self.peek())),
            (_, "IS") => {
                let not = self.eat("NOT");
                self.expect(self.is_kw("EMPTY") || self.is_kw("NULL"))?;
                let op = if not { Op::IsNotEmpty } else { Op::IsEmpty };
                return Ok(Cond {
                    field,
                    op,
                    lits: vec![],
                });
            }
            (_, "HAVING") => return Err(at(t.pos, "unsupported operator 'HAVING'")),
            (Tok::Word(_), _) => {
                return Err(at(t.pos, format_args!("unknown operator '{}'", t.text)));
            }
            _ => return Err(unexpected(&t)),
        };
        let mut lits = Vec::new();
        if !matches!(op, Op::In | Op::NotIn) {
            lits.push(self.value(&field, op)?);
        } else if self.peek().tok == Tok::LParen {
            self.bump();
            lits.push(self.value(&field, op)?);
            while self.peek().tok == Tok::Comma {
                self.bump();
                lits.push(self.value(&field, op)?);
            }
            self.expect(self.peek().tok == Tok::RParen)?;
        } else {
            // A function standing for a list: `objectType IN objectTypeAndChildren(X)`.
            let call = self
                .toks
                .get(self.i + 1)
                .is_some_and(|t| t.tok == Tok::LParen);
            if !call || !matches!(self.peek().tok, Tok::Word(_)) {
                return Err(unexpected(self.peek()));
            }
            lits.push(self.value(&field, op)?);
        }
        Ok(Cond { field, op, lits })
    }

    fn value(&mut self, field: &Field, op: Op) -> Result<Lit, String> {
        let t = self.bump();
        match &t.tok {
            Tok::Str(s) => Ok(Lit::new(s)),
            Tok::Word(w) if reserved(w) => Err(unexpected(&t)),
            Tok::Word(w) if self.peek().tok == Tok::LParen => self.call(w, t.pos, field, op),
            Tok::Word(w) => Ok(Lit::new(w)),
            Tok::End => Err(format!("{}, expected a value", unexpected(&t))),
            _ => Err(unexpected(&t)),
        }
    }

    fn call(&mut self, name: &str, pos: usize, field: &Field, op: Op) -> Result<Lit, String> {
        self.bump();
        let mut args = Vec::new();
        while !matches!(self.peek().tok, Tok::RParen | Tok::End) {
            match self.bump() {
                Token {
                    tok: Tok::Word(w) | Tok::Str(w),
                    ..
                } => args.push(w),
                t => return Err(unexpected(&t)),
            }
            if self.peek().tok == Tok::Comma {
                self.bump();
            }
        }
        self.expect(self.peek().tok == Tok::RParen)?;
        let (func, arity) = if name.eq_ignore_ascii_case("objectTypeAndChildren") {
            let type_field = matches!(
                field,
                Field::Special(Special::ObjectType | Special::ObjectTypeId)
            );
            if !type_field || !matches!(op, Op::Eq | Op::Ne | Op::In | Op::NotIn) {
                let msg =
                    "objectTypeAndChildren() only works with objectType and =, !=, IN, NOT IN";
                return Err(at(pos, msg));
            }
            (
                Func::TypeAndChildren(args.first().cloned().unwrap_or_default()),
                1,
            )
        } else if name.eq_ignore_ascii_case("currentUser") {
            (Func::CurrentUser, 0)
        } else {
            return Err(at(pos, format_args!("unknown function '{name}'")));
        };
        if args.len() != arity {
            return Err(at(
                pos,
                format_args!("function '{name}' takes {arity} argument(s)"),
            ));
        }
        Ok(Lit {
            func: Some(func),
            ..Lit::new("")
        })
    }
}

/// Parses AQL text; an empty (or blank) text matches every object.
pub fn parse(q: &str) -> Result<Query, String> {
    let mut p = Parser {
        toks: lex(q)?,
        i: 0,
        conds: Vec::new(),
    };
    let (expr, order) = p.query()?;
    Ok(Query {
        text: q.to_string(),
        expr,
        conds: p.conds,
        order,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(q: &str) -> String {
        parse(q).expect_err(q)
    }

    #[test]
    fn precedence_and_grouping() {
        let q = parse("a = 1 OR b = 2 and c = 3").unwrap();
        assert!(
            matches!(&q.expr, Expr::Or(v) if v.len() == 2 && matches!(&v[1], Expr::And(a) if a.len() == 2))
        );
        let q = parse("(a = 1 OR b = 2) AND c = 3").unwrap();
        assert!(matches!(&q.expr, Expr::And(v) if matches!(&v[0], Expr::Or(_))));
        let q = parse("NOT a = 1").unwrap();
        assert!(matches!(&q.expr, Expr::Not(_)));
        assert!(matches!(parse("   ").unwrap().expr, Expr::All));
    }

    #[test]
    fn fields_values_and_quoting() {
        let q = parse(r#""Serial Number" == "a \"b\" \\c""#).unwrap();
        assert_eq!(
            q.conds[0].field,
            Field::Attr {
                name: "Serial Number".into(),
                sub: None
            }
        );
        assert_eq!(q.conds[0].op, Op::EqCase);
        assert_eq!(q.conds[0].lits[0].text, r#"a "b" \c"#);
        let q = parse("objecttypeid = 3 and KEY = itsm-12").unwrap();
        assert_eq!(q.conds[0].field, Field::Special(Special::ObjectTypeId));
        assert_eq!(q.conds[1].lits[0].key, Some(("itsm".into(), 12)));
        for (text, outer, inner) in [
            (r#""Owner".Name = x"#, "Owner", "Name"),
            ("Owner.Name = x", "Owner", "Name"),
            (r#"Owner."Full Name" = x"#, "Owner", "Full Name"),
        ] {
            let q = parse(text).unwrap();
            let sub = Some(Box::new(Field::Attr {
                name: inner.into(),
                sub: None,
            }));
            assert_eq!(
                q.conds[0].field,
                Field::Attr {
                    name: outer.into(),
                    sub
                },
                "{text}"
            );
        }
        let q = parse("objectType IN objectTypeAndChildren(\"Host\") ORDER BY RAM desc").unwrap();
        assert_eq!(
            q.conds[0].lits[0].func,
            Some(Func::TypeAndChildren("Host".into()))
        );
        assert!(q.order.as_ref().is_some_and(|o| o.desc));
        let q = parse("a not in (1, \"two\") and b is not empty and c IS EMPTY and d not like x")
            .unwrap();
        let ops: Vec<Op> = q.conds.iter().map(|c| c.op).collect();
        assert_eq!(ops, [Op::NotIn, Op::IsNotEmpty, Op::IsEmpty, Op::NotLike]);
        assert_eq!(q.conds[0].lits.len(), 2);
        assert!(parse("ORDER BY Name").unwrap().order.is_some());
    }

    #[test]
    fn literal_interpretations() {
        assert_eq!(Lit::new("12").id(), Some(12));
        assert_eq!(Lit::new("1.5").num, Some(1.5));
        assert_eq!(Lit::new("nan").num, None);
        let day = days_from_civil(2021, 2, 16) * DAY;
        assert_eq!(Lit::new("2021-02-16").date, Some((day, day + DAY)));
        let t = 1613505881527;
        assert_eq!(Lit::new("2021-02-16T20:04:41.527Z").date, Some((t, t + 1)));
        assert_eq!(
            Lit::new("2021-02-16T20:04:41Z").date,
            Some((t - 527, t - 527 + 1000))
        );
        assert_eq!(
            Lit::new("2021-02-16 20:04").date,
            Some((t - 41527, t - 41527 + 60_000))
        );
        assert_eq!(
            Lit::new("2021-02-16T21:04+01:00").date,
            Some((t - 41527, t - 41527 + 60_000))
        );
        assert_eq!(Lit::new("ITSM").date, None);
    }

    #[test]
    fn errors_name_token_and_position() {
        assert_eq!(
            err("objectType = AND"),
            "AQL: unexpected token 'AND' at position 14"
        );
        assert_eq!(
            err("Name = \"abc"),
            "AQL: unclosed quote starting at position 8"
        );
        assert_eq!(err("Name ~ x"), "AQL: unknown operator '~' at position 6");
        assert_eq!(err("Name ! x"), "AQL: unknown operator '!' at position 6");
        assert_eq!(
            err("Name = foo(1)"),
            "AQL: unknown function 'foo' at position 8"
        );
        assert_eq!(
            err("Name ="),
            "AQL: unexpected end of query at position 7, expected a value"
        );
        assert_eq!(
            err("Name"),
            "AQL: unexpected end of query at position 5, expected an operator"
        );
        assert_eq!(
            err("(Name = x"),
            "AQL: missing ')' for the '(' at position 1"
        );
        assert_eq!(
            err("Name = x y"),
            "AQL: unexpected token 'y' at position 10"
        );
        assert_eq!(
            err("Name = x ORDER Name"),
            "AQL: unexpected token 'Name' at position 16"
        );
        assert_eq!(err("Name IN x"), "AQL: unexpected token 'x' at position 9");
        assert_eq!(err("Name IS x"), "AQL: unexpected token 'x' at position 9");
        assert!(err("Name HAVING x").contains("HAVING"));
        assert!(err("Name = objectTypeAndChildren(X)").contains("objectType"));
        assert!(err("a.b.c = 1").contains("one level"));
        assert!(err("objectType.Name = 1").contains("objectType"));
        assert!(err("= 1").starts_with("AQL: unexpected token '='"));
    }
}
