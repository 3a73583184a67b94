//! The "cmdb" dataset's objects: N seeded objects spread over the concrete types of the `Plan`,
//! created through the Workspace API (so every value passes the Cloud rules), some edited later
//! so history holds VALUE_CHANGED entries, then the reference cycles.
//!
//! Objects are created type by type in dependency order (locations, offices, people, servers,
//! software, laptops, network), so a reference always points at an object that exists already;
//! the two cyclic attributes (`Server.Hosted on` between servers, `Server.Runs`) are filled
//! afterwards with `update_object`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::cmdb::{G, Gen, NT, Plan, T};
use super::{BASE_MILLIS, SPAN_MILLIS};
use crate::clock;
use crate::config::{DatasetConfig, Flavor};
use crate::model::{Millis, Val};
use crate::ws::values::DC_TEXT_MAX_CHARS;
use crate::ws::{AttrInput, Workspace};

/// Concrete types in object creation order, with their share of the N objects.
#[rustfmt::skip]
const ORDER: [(T, u32); 13] = [
    (T::Region, 1), (T::Site, 2), (T::Office, 3), (T::Employee, 20), (T::Server, 8), (T::VServer, 12),
    (T::Software, 2), (T::Application, 6), (T::License, 4), (T::Laptop, 30), (T::Network, 1),
    (T::Router, 2), (T::Switch, 4),
];

/// Word lists of labels and values. Labels must avoid `= ; : ? . "`.
#[rustfmt::skip]
mod words {
    pub const FIRST: [&str; 24] = ["Olivia", "Liam", "Amara", "Noah", "Zoë", "Mateo", "Priya", "Lucas", "Siobhán",
        "Kwame", "Yuki", "Elena", "Björn", "Fatima", "Diego", "Chloé", "Arjun", "Ingrid", "Omar", "Mei", "Jonas",
        "Aaliyah", "Rafael", "Nora"];
    pub const LAST: [&str; 24] = ["Smith", "O'Brien", "García-López", "Nakamura", "Okafor", "Müller", "Kowalski",
        "Singh", "Rossi", "Dubois", "Andersen", "Haddad", "Chen", "Kim", "Novak", "Silva", "Jensen", "Ivanova",
        "Mensah", "Tanaka", "Walsh", "Costa", "Fischer", "Park"];
    pub const CITIES: [&str; 12] = ["Sydney", "London", "New York", "Berlin", "São Paulo", "Tokyo", "Toronto",
        "Nairobi", "Mumbai", "Paris", "Singapore", "Dublin"];
    pub const CODES: [&str; 12] = ["syd", "lon", "nyc", "ber", "sao", "tyo", "yto", "nbo", "bom", "par", "sin", "dub"];
    pub const COUNTRIES: [&str; 12] = ["Australia", "United Kingdom", "United States", "Germany", "Brazil", "Japan",
        "Canada", "Kenya", "India", "France", "Singapore", "Ireland"];
    pub const REGIONS: [&str; 6] = ["EMEA", "APAC", "North America", "LATAM", "Nordics", "Middle East"];
    pub const SITE_KINDS: [&str; 4] = ["HQ", "Campus", "Data Centre", "Hub"];
    pub const OFFICE_KINDS: [&str; 3] = ["Office", "Studio", "Annex"];
    pub const VENDORS: [&str; 8] = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Vandelay"];
    pub const PRODUCTS: [&str; 8] = ["Editor", "Analytics", "Backup", "Antivirus", "Mail", "Designer", "Monitor", "VPN"];
    pub const APP_ADJ: [&str; 10] = ["Payroll", "Customer", "Inventory", "Billing", "Identity", "Reporting", "Booking",
        "Claims", "Asset", "Ticket"];
    pub const APP_NOUN: [&str; 6] = ["Portal", "Gateway", "Service", "Engine", "Hub", "Tracker"];
    pub const EDITIONS: [&str; 3] = ["Standard License", "Enterprise License", "Pro License"];
    pub const JOBS: [&str; 10] = ["Engineer", "Analyst", "Manager", "Technician", "Designer", "Accountant",
        "Recruiter", "Administrator", "Consultant", "Director"];
    pub const PUBLISHERS: [&str; 6] = ["Microsoft", "Adobe", "Atlassian", "Oracle", "JetBrains", "Autodesk"];
    pub const NOTES: [&str; 6] = ["Replaced battery", "Spare unit", "Loaned to project team",
        "Pending disposal review", "Relabelled after audit", "Check warranty before repair"];
    pub const WORDS: [&str; 16] = ["asset", "quarterly", "review", "migrated", "from", "the", "legacy", "inventory",
        "owner", "confirmed", "location", "during", "audit", "replacement", "scheduled", "vendor"];
}
use words::*;
pub(super) use words::{JOBS, PUBLISHERS, WORDS as PROSE_WORDS};

/// Object counts per entry of `ORDER`: one of each type once `n` allows, the rest by weight
/// (the heaviest types take the remainder).
fn counts(n: u32) -> [u32; 13] {
    let mut c = [0u32; 13];
    let k = ORDER.len() as u32;
    if n < k {
        c.iter_mut().take(n as usize).for_each(|x| *x = 1);
        return c;
    }
    let rest = u64::from(n - k);
    let total: u64 = ORDER.iter().map(|(_, w)| u64::from(*w)).sum();
    for (i, (_, w)) in ORDER.iter().enumerate() {
        c[i] = 1 + (rest * u64::from(*w) / total) as u32;
    }
    let mut by_weight: Vec<usize> = (0..ORDER.len()).collect();
    by_weight.sort_by_key(|i| std::cmp::Reverse(ORDER[*i].1));
    let mut left = n - c.iter().sum::<u32>();
    for i in by_weight.iter().cycle() {
        if left == 0 {
            break;
        }
        c[*i] += 1;
        left -= 1;
    }
    c
}

/// Picking state shared by all generators.
struct Cx {
    rng: ChaCha8Rng,
    /// Ids of the objects created so far, per type.
    objs: Vec<Vec<u32>>,
    /// Account ids of active users, and of those in `it-operations`.
    users: Vec<String>,
    itops: Vec<String>,
    /// (display name, account id) of active users who share their display name.
    twins: Vec<(String, String)>,
    groups: Vec<String>,
    /// Directory indexes of active users (actors of later edits).
    active: Vec<u32>,
    /// Seed-derived mask that makes serial numbers differ between seeds.
    mask: u32,
}

impl Cx {
    fn new(ws: &Workspace, seed: u64) -> Cx {
        let active: Vec<u32> = (0..ws.users.len() as u32)
            .filter(|i| ws.users[*i as usize].active)
            .collect();
        let active_users = || active.iter().map(|i| &ws.users[*i as usize]);
        let it = super::directory::IT_OPERATIONS;
        let shared = |name: &str| ws.users.iter().filter(|x| x.display_name == name).count() > 1;
        Cx {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x636d_6462),
            objs: (0..NT).map(|_| Vec::new()).collect(),
            users: active_users().map(|u| u.account_id.clone()).collect(),
            itops: active_users()
                .filter(|u| u.groups.iter().any(|g| g == it))
                .map(|u| u.account_id.clone())
                .collect(),
            twins: active_users()
                .filter(|u| shared(&u.display_name))
                .map(|u| (u.display_name.clone(), u.account_id.clone()))
                .collect(),
            groups: ws.groups.iter().map(|g| g.name.clone()).collect(),
            mask: (seed as u32) ^ ((seed >> 32) as u32),
            active,
        }
    }
    fn pick<'a>(&mut self, from: &'a [&'static str]) -> &'a str {
        from[self.rng.random_range(0..from.len())]
    }
    /// Up to `max` distinct indexes (at least one) into a list of `len` items.
    fn distinct(&mut self, len: usize, max: u32) -> Vec<usize> {
        let want = if max <= 1 {
            1
        } else {
            self.rng.random_range(1..=max as usize)
        };
        let want = want.min(len);
        let mut out: Vec<usize> = Vec::with_capacity(want);
        while out.len() < want {
            let i = self.rng.random_range(0..len);
            if !out.contains(&i) {
                out.push(i);
            }
        }
        out
    }
}

fn slug(label: &str, sep: &str) -> String {
    let words: Vec<String> = label
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    words.join(sep)
}

/// A label from word lists: the `i`-th combination, numbered once they run out.
fn combo(i: u32, lists: &[&[&str]]) -> String {
    let mut n = i as usize;
    let mut out: Vec<String> = Vec::with_capacity(lists.len() + 1);
    for l in lists {
        out.push(l[n % l.len()].to_string());
        n /= l.len();
    }
    if n > 0 {
        out.push((n + 1).to_string());
    }
    out.join(" ")
}

/// The label of the `i`-th object of type `t`.
fn label(t: T, i: u32, cx: &mut Cx) -> String {
    let code = code_of(i);
    match t {
        T::Region => combo(i, &[&REGIONS]),
        T::Site => combo(i, &[&CITIES, &SITE_KINDS]),
        T::Office => combo(i, &[&CITIES, &OFFICE_KINDS]),
        T::Employee => match cx.twins.get(i as usize) {
            Some((name, _)) => name.clone(),
            None => format!("{} {}", cx.pick(&FIRST), cx.pick(&LAST)),
        },
        T::Server => format!("srv-{code}-{:05}", i + 1),
        T::VServer => format!("vm-{:06}", i + 1),
        T::Software => combo(i, &[&VENDORS, &PRODUCTS]),
        T::Application => combo(i, &[&APP_ADJ, &APP_NOUN]),
        T::License => combo(i, &[&PRODUCTS, &VENDORS, &EDITIONS]),
        T::Laptop => format!("LT-{:06}", i + 1),
        T::Network => format!("net-segment-{:04}", i + 1),
        T::Router => format!("rtr-{code}-{:04}", i + 1),
        T::Switch => format!("sw-{code}-{:04}", i + 1),
        T::Hardware | T::People => unreachable!("abstract types hold no objects"),
    }
}

/// Sentences of at least `min_chars` characters.
fn prose(cx: &mut Cx, min_chars: usize) -> String {
    let mut s = String::new();
    while s.len() < min_chars {
        let n = cx.rng.random_range(5..12);
        let mut sentence = (0..n)
            .map(|_| cx.pick(&WORDS))
            .collect::<Vec<_>>()
            .join(" ");
        sentence[..1].make_ascii_uppercase();
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&sentence);
        s.push('.');
    }
    s
}

/// Cuts `s` to at most `max` characters.
fn truncate_chars(s: &mut String, max: usize) {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
    }
}

/// The values `gn` gives an object of type `t`: ordinal `i` within its type, `n` overall.
fn values(gn: &Gen, cx: &mut Cx, t: T, i: u32, n: u32, label: &str) -> Vec<String> {
    let one = |s: String| vec![s];
    let day: Millis = 86_400_000;
    match gn.g {
        G::Label => one(label.to_string()),
        G::Serial => one(format!("SN{:08X}", n.wrapping_mul(0x9E37_79B1) ^ cx.mask)),
        G::Pick(l) => one(cx.pick(l).to_string()),
        G::Code(p) => one(format!("{p}{:06}", i + 1)),
        G::Notes => one(cx.pick(&NOTES).to_string()),
        G::Phone => one(format!("+1 555 {:04}", cx.rng.random_range(0..10_000))),
        G::Version => {
            let (a, b, c) = (
                cx.rng.random_range(1..12),
                cx.rng.random_range(0..20),
                cx.rng.random_range(0..50),
            );
            one(format!("{a}.{b}.{c}"))
        }
        G::SiteCode => one(format!(
            "{}-{:04}",
            code_of(i).to_ascii_uppercase(),
            (i + 1) % 10_000
        )),
        G::Country => one(COUNTRIES[i as usize % COUNTRIES.len()].to_string()),
        G::Cidr => one(format!(
            "10.{}.{}.0/24",
            cx.rng.random_range(0..256),
            cx.rng.random_range(0..256)
        )),
        G::Int(lo, hi) => one(cx.rng.random_range(lo..=hi).to_string()),
        G::IntOf(l) => one(l[cx.rng.random_range(0..l.len())].to_string()),
        G::Dbl(lo, hi) => one(format!("{:.2}", cx.rng.random_range(lo..hi))),
        G::Bool => one(cx.rng.random_bool(0.5).to_string()),
        G::Date => one(
            clock::iso(BASE_MILLIS + cx.rng.random_range(-9 * 365..2 * 365) * day)[..10]
                .to_string(),
        ),
        G::Time => one(format!(
            "{:02}:{:02}",
            cx.rng.random_range(0..24),
            15 * cx.rng.random_range(0..4)
        )),
        G::DateTime => one(clock::iso(
            BASE_MILLIS + cx.rng.random_range(-730 * 1440..365 * 1440) * 60_000,
        )),
        G::Email => {
            let local = format!("{}.{}", slug(label, "."), i + 1);
            let mut v = vec![format!("{local}@example.com")];
            if t == T::Employee && cx.rng.random_bool(0.2) {
                v.push(format!("{local}@personal.example.org"));
            }
            v
        }
        G::Url(prefix) => one(format!("{prefix}{}", slug(label, "-"))),
        G::Ip => {
            let (a, b, c) = (
                cx.rng.random_range(0..256),
                cx.rng.random_range(0..256),
                cx.rng.random_range(1..255),
            );
            one(format!("10.{a}.{b}.{c}"))
        }
        G::Prose => one(prose(cx, 40)),
        G::Sel(max) => cx
            .distinct(gn.opts.len(), max)
            .into_iter()
            .map(|k| gn.opts[k].to_string())
            .collect(),
        G::Ref(max) => refs(cx, &gn.targets, max),
        G::HostedOn if t == T::VServer => refs(cx, &[T::Server], 1),
        G::HostedOn | G::Later => vec![],
        G::User(max) => {
            let len = if gn.itops {
                cx.itops.len()
            } else {
                cx.users.len()
            };
            let picks = cx.distinct(len, max);
            let pool = if gn.itops { &cx.itops } else { &cx.users };
            picks.into_iter().map(|k| pool[k].clone()).collect()
        }
        G::JiraUser => match cx.twins.get(i as usize) {
            Some((_, id)) => one(id.clone()),
            None if cx.users.is_empty() => vec![],
            None => one(cx.users[cx.rng.random_range(0..cx.users.len())].clone()),
        },
        G::Group(max) => {
            let picks = cx.distinct(cx.groups.len(), max);
            picks.into_iter().map(|k| cx.groups[k].clone()).collect()
        }
        G::Status => one(gn.statuses[cx.rng.random_range(0..gn.statuses.len())].to_string()),
    }
}

fn code_of(i: u32) -> &'static str {
    CODES[i as usize % CODES.len()]
}

/// Up to `max` distinct ids among the objects created so far of the `targets` types.
fn refs(cx: &mut Cx, targets: &[T], max: u32) -> Vec<String> {
    let total: usize = targets.iter().map(|p| cx.objs[*p as usize].len()).sum();
    let picks = cx.distinct(total, max);
    let nth = |mut k: usize| {
        for t in targets {
            let pool = &cx.objs[*t as usize];
            if k < pool.len() {
                return pool[k];
            }
            k -= pool.len();
        }
        unreachable!("index below the total")
    };
    picks.into_iter().map(|k| nth(k).to_string()).collect()
}

fn update(ws: &mut Workspace, id: u32, attr: &str, values: Vec<String>, actor: u32, at: Millis) {
    let inputs = [AttrInput {
        attr_id: attr.to_string(),
        values,
    }];
    let done = ws.update_object(id, None, &inputs, actor, at);
    done.unwrap_or_else(|e| panic!("dataset update of object {id}: {}", e.body));
}

/// Creates `cfg.objects` objects, edits a quarter of them, then closes the reference cycles.
pub(super) fn populate(ws: &mut Workspace, plan: &Plan, cfg: &DatasetConfig) {
    let mut cx = Cx::new(ws, cfg.seed);
    let actor = ws.actor;
    let dc = ws.flavor == Flavor::Dc;
    let step: Millis = (SPAN_MILLIS / Millis::from(cfg.objects.max(1))).max(1000);
    let mut n: u32 = 0;
    for ((t, _), count) in ORDER.iter().zip(counts(cfg.objects)) {
        let (t, tid) = (*t, plan.tid[*t as usize]);
        let gens = &plan.gens[t as usize];
        let notes = gens
            .iter()
            .find(|g| matches!(g.g, G::Notes))
            .map(|g| g.attr);
        let mutable = gens.iter().find(|g| g.mutable);
        for i in 0..count {
            let now = BASE_MILLIS + Millis::from(n) * step + cx.rng.random_range(0..step / 2);
            let label = label(t, i, &mut cx);
            // Data Center text over Cloud's 255 characters: written past the API's checks (on
            // a Data Center site, within its own limit).
            let long = (cfg.from_data_center || dc) && notes.is_some() && cx.rng.random_bool(0.05);
            let mut inputs = Vec::with_capacity(gens.len());
            for g in gens {
                if (g.fill < 1.0 && !cx.rng.random_bool(g.fill)) || (long && Some(g.attr) == notes)
                {
                    continue;
                }
                let values = values(g, &mut cx, t, i, n, &label);
                if !values.is_empty() {
                    inputs.push(AttrInput {
                        attr_id: g.id.clone(),
                        values,
                    });
                }
            }
            let id = ws.create_object(tid, &inputs, actor, now);
            let id = id.unwrap_or_else(|e| panic!("dataset {t:?} object {label:?}: {}", e.body));
            cx.objs[t as usize].push(id);
            if let (true, Some(attr)) = (long, notes) {
                let text = if dc {
                    let len = cx.rng.random_range(270..400);
                    let mut t = prose(&mut cx, len);
                    truncate_chars(&mut t, DC_TEXT_MAX_CHARS);
                    t
                } else {
                    let len = cx.rng.random_range(300..600);
                    prose(&mut cx, len)
                };
                ws.force_text_value(id, attr, &text);
            }
            if let Some(m) = mutable.filter(|_| cfg.history_updates > 0 && cx.rng.random_bool(0.25))
            {
                let current = inputs
                    .iter()
                    .find(|x| x.attr_id == m.id)
                    .map(|x| x.values.clone());
                edit(
                    ws,
                    &mut cx,
                    (m, t, i, n, &label),
                    current.unwrap_or_default(),
                    cfg.history_updates,
                    now,
                );
            }
            n += 1;
        }
    }
    close_cycles(ws, plan, &cx.objs);
}

/// `times` later edits of one attribute of a new object, each by a random active user.
fn edit(
    ws: &mut Workspace,
    cx: &mut Cx,
    o: (&Gen, T, u32, u32, &str),
    mut current: Vec<String>,
    times: u32,
    at: Millis,
) {
    let (m, t, i, n, label) = o;
    let id = *cx.objs[t as usize].last().expect("just created");
    let mut at = at;
    for _ in 0..times {
        let mut next = values(m, cx, t, i, n, label);
        for _ in 0..4 {
            if next != current {
                break;
            }
            next = values(m, cx, t, i, n, label);
        }
        at += cx.rng.random_range(3_600_000..30 * 86_400_000);
        let who = cx
            .active
            .get(cx.rng.random_range(0..cx.active.len().max(1)))
            .copied()
            .unwrap_or(ws.actor);
        update(ws, id, &m.id, next.clone(), who, at);
        current = next;
    }
}

/// Physical servers host each other in rings of three (every other ring: a self-referencing
/// cycle), and every other application is added to `Runs` of the first server it runs on
/// (Application.Runs on -> Server, Server.Runs -> Application).
fn close_cycles(ws: &mut Workspace, plan: &Plan, objs: &[Vec<u32>]) {
    let actor = ws.actor;
    let mut at = BASE_MILLIS + SPAN_MILLIS + 86_400_000;
    let hosted = plan.hosted_on.to_string();
    for ring in objs[T::Server as usize].chunks_exact(3).step_by(2) {
        for k in 0..3 {
            update(
                ws,
                ring[k],
                &hosted,
                vec![ring[(k + 1) % 3].to_string()],
                actor,
                at,
            );
            at += 1000;
        }
    }
    let runs = plan.runs.to_string();
    let as_ref = |v: &Val| if let Val::Ref(r) = v { Some(*r) } else { None };
    for app in objs[T::Application as usize].iter().step_by(2) {
        let first = ws
            .get_object(*app)
            .and_then(|o| o.values_of(plan.runs_on).first().and_then(as_ref));
        let Some(server) = first else { continue };
        let Some(o) = ws.get_object(server) else {
            continue;
        };
        let mut list: Vec<String> = o
            .values_of(plan.runs)
            .iter()
            .filter_map(as_ref)
            .map(|r| r.to_string())
            .collect();
        list.push(app.to_string());
        update(ws, server, &runs, list, actor, at);
        at += 1000;
    }
}
