//! The "cmdb" dataset's schemas: "IT Assets" (ITSM) and "Locations" (LOC, which lets other
//! schemas reference its objects), their statuses, reference type, custom icons, object type
//! trees and an attribute of every kind, all created through the Workspace API. The result is
//! a `Plan` that `objects` fills with seeded objects.

use super::directory::IT_OPERATIONS;
use super::{BASE_MILLIS, objects};
use crate::model::{DefaultType as D, Millis};
use crate::ws::{AttrSpec, TypeSpec, Workspace};

/// Object types of the dataset (indexes into per-type tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum T {
    Region,
    Site,
    Office,
    Employee,
    Server,
    VServer,
    Software,
    Application,
    License,
    Laptop,
    Network,
    Router,
    Switch,
    Hardware,
    People,
}

/// Number of `T` variants.
pub(super) const NT: usize = 15;

/// The schema reference type of ITSM.
const HOSTED_ON: &str = "Hosted on";
/// ITSM's custom icons.
const CUSTOM_ICONS: [&str; 2] = ["Asset Tag", "Rack Server"];

/// (type, name, in LOC, parent, inherited, abstract, icon name, the attribute history updates
/// change).
#[rustfmt::skip]
pub(super) type TypeRow = (T, &'static str, bool, Option<T>, bool, bool, &'static str, &'static str);

/// Object types, parents first.
#[rustfmt::skip]
pub(super) const TYPES: [TypeRow; NT] = [
    (T::Region,      "Region",         true,  None,              false, false, "Location",        "Description"),
    (T::Site,        "Site",           true,  None,              false, false, "Building",        "Site Status"),
    (T::Hardware,    "Hardware",       false, None,              true,  true,  CUSTOM_ICONS[0],   ""),
    (T::Laptop,      "Laptop",         false, Some(T::Hardware), false, false, "Laptop",          "Lifecycle Status"),
    (T::Server,      "Server",         false, Some(T::Hardware), true,  false, CUSTOM_ICONS[1],   "Lifecycle Status"),
    (T::VServer,     "Virtual Server", false, Some(T::Server),   false, false, "Virtual Machine", "Lifecycle Status"),
    (T::People,      "People",         false, None,              true,  true,  "Team",            ""),
    (T::Employee,    "Employee",       false, Some(T::People),   false, false, "Employee",        "Job Title"),
    (T::Software,    "Software",       false, None,              true,  false, "Software",        "Version"),
    (T::Application, "Application",    false, Some(T::Software), false, false, "Application",     "Version"),
    (T::License,     "License",        false, Some(T::Software), false, false, "License",         "Version"),
    (T::Network,     "Network",        false, None,              false, false, "Network",         "VLAN"),
    (T::Switch,      "Switch",         false, Some(T::Network),  false, false, "Switch",          "Ports"),
    (T::Router,      "Router",         false, Some(T::Network),  false, false, "Router",          "Throughput"),
    (T::Office,      "Office",         false, None,              false, false, "Office",          "Capacity"),
];

/// What an attribute is, with the settings the API takes for it.
#[derive(Debug, Clone, Copy)]
pub(super) enum K {
    /// A Default attribute with no extra settings.
    D(D),
    /// Text with `uniqueAttribute`.
    Unique,
    /// Text with `regexValidation`.
    Regex(&'static str),
    /// Integer or Double: suffix ("" for none), summable.
    Num(D, &'static str, bool),
    /// URL with its ping setting (`additionalValue`).
    Url(&'static str),
    /// Select: options, unlimited values.
    Sel(&'static [&'static str], bool),
    /// Email: minimum and maximum cardinality.
    Email(i64, i64),
    /// Object: target type, reference type name, maximum cardinality, include child types.
    Obj(T, &'static str, i64, bool),
    /// User: the group users must belong to, unlimited values.
    User(Option<&'static str>, bool),
    /// Group: unlimited values.
    Group(bool),
    /// Status: the statuses values take; whether the attribute only allows those.
    Status(&'static [&'static str], bool),
}

/// How an attribute's values are generated (see `objects::values`).
#[derive(Debug, Clone, Copy)]
pub(super) enum G {
    Label,
    Serial,
    Pick(&'static [&'static str]),
    Code(&'static str),
    Notes,
    Phone,
    Version,
    SiteCode,
    /// The country of the site's city.
    Country,
    Cidr,
    Int(i32, i32),
    IntOf(&'static [i32]),
    Dbl(f64, f64),
    Bool,
    Date,
    Time,
    DateTime,
    Email,
    Url(&'static str),
    Ip,
    Prose,
    /// Up to n distinct options of the Select.
    Sel(u32),
    /// Up to n distinct objects among the targets created so far.
    Ref(u32),
    /// `Server.Hosted on`: set on creation for virtual servers, in the cycle phase for servers.
    HostedOn,
    /// Filled in the cycle phase (`Server.Runs`).
    Later,
    User(u32),
    /// Employees' Jira account: the first employees get the users sharing a display name.
    JiraUser,
    Group(u32),
    Status,
}

const VENDORS: [&str; 6] = ["Dell", "HP", "Lenovo", "Apple", "Cisco", "Supermicro"];
const OS: [&str; 4] = ["Windows 11", "macOS 14", "Ubuntu 22", "ChromeOS"];
const HYPERVISORS: [&str; 4] = ["VMware ESXi", "KVM", "Hyper-V", "Xen"];
const TIERS: [&str; 4] = ["Tier 1", "Tier 2", "Tier 3", "Tier 4"];
#[rustfmt::skip]
const DEPARTMENTS: [&str; 8] = ["Engineering", "IT", "HR", "Finance", "Sales", "Marketing", "Legal", "Support"];
#[rustfmt::skip]
const SKILLS: [&str; 8] = ["Networking", "Linux", "Windows", "Security", "Databases", "Cloud", "Scripting", "ITIL"];
const LIFECYCLE: [&str; 5] = ["Active", "In Service", "In Repair", "Retired", "Stopped"];
const APP_STATUS: [&str; 5] = [
    "Running",
    "Stopped",
    "Action Needed",
    "In Repair",
    "Retired",
];
const SITE_STATUS: [&str; 3] = ["Planned", "Active", "Closed"];
const URL_PREFIXES: [&str; 2] = [
    "https://www.example.com/products/",
    "https://downloads.example.com/firmware/",
];

/// Every non-system attribute: (type, name, kind, generator, share of objects with a value).
#[rustfmt::skip]
const ATTRS: &[(T, &str, K, G, f64)] = &[
    (T::Region, "Region Code", K::D(D::Text), G::Code("RG-"), 1.0),
    (T::Region, "Description", K::D(D::Textarea), G::Prose, 1.0),
    (T::Site, "Site Code", K::Regex("^[A-Z]{3}-[0-9]{4}$"), G::SiteCode, 1.0),
    (T::Site, "Region", K::Obj(T::Region, "Location", 1, false), G::Ref(1), 0.95),
    (T::Site, "Country", K::D(D::Text), G::Country, 0.9),
    (T::Site, "Address", K::D(D::Textarea), G::Prose, 0.7),
    (T::Site, "Latitude", K::D(D::Double), G::Dbl(-60.0, 70.0), 0.6),
    (T::Site, "Longitude", K::D(D::Double), G::Dbl(-180.0, 180.0), 0.6),
    (T::Site, "Site Status", K::Status(&SITE_STATUS, true), G::Status, 1.0),
    (T::Site, "Opened", K::D(D::Date), G::Date, 0.8),
    // Offices: in ITSM, at a LOC site (the cross-schema reference).
    (T::Office, "Site", K::Obj(T::Site, "Location", 1, false), G::Ref(1), 1.0),
    (T::Office, "Floor", K::D(D::Integer), G::Int(0, 40), 0.8),
    (T::Office, "Capacity", K::D(D::Integer), G::Int(10, 900), 1.0),
    (T::Office, "Opening Time", K::D(D::Time), G::Time, 0.7),
    (T::Office, "Facilities Group", K::Group(false), G::Group(1), 0.5),
    (T::Office, "Notes", K::D(D::Text), G::Notes, 0.15),
    // Hardware: abstract, its attributes inherited by Laptop, Server and Virtual Server.
    (T::Hardware, "Serial Number", K::Unique, G::Serial, 1.0),
    (T::Hardware, "Vendor", K::Sel(&VENDORS, false), G::Sel(1), 0.9),
    (T::Hardware, "Purchase Date", K::D(D::Date), G::Date, 0.8),
    (T::Hardware, "Purchase Cost", K::Num(D::Double, "USD", true), G::Dbl(200.0, 25_000.0), 0.7),
    (T::Hardware, "Lifecycle Status", K::Status(&LIFECYCLE, true), G::Status, 1.0),
    (T::Hardware, "Managed By", K::User(None, false), G::User(1), 0.6),
    (T::Hardware, "Notes", K::D(D::Text), G::Notes, 0.15),
    (T::Laptop, "RAM", K::Num(D::Integer, "GB", false), G::IntOf(&[8, 16, 32, 64]), 0.95),
    (T::Laptop, "Encrypted", K::D(D::Boolean), G::Bool, 0.9),
    (T::Laptop, "Operating System", K::Sel(&OS, false), G::Sel(1), 0.9),
    (T::Laptop, "Assigned To", K::Obj(T::Employee, "Owner", 1, false), G::Ref(1), 0.85),
    (T::Server, "IP Address", K::D(D::IpAddress), G::Ip, 0.95),
    (T::Server, "CPU Cores", K::D(D::Integer), G::IntOf(&[4, 8, 16, 32, 64]), 0.9),
    (T::Server, "Memory", K::Num(D::Integer, "GB", true), G::IntOf(&[16, 32, 64, 128, 256, 512]), 0.9),
    (T::Server, "Last Patched", K::D(D::DateTime), G::DateTime, 0.8),
    (T::Server, "Maintenance Window", K::D(D::Time), G::Time, 0.6),
    (T::Server, "Administrators", K::User(Some(IT_OPERATIONS), true), G::User(3), 0.7),
    (T::Server, "Support Group", K::Group(false), G::Group(1), 0.6),
    (T::Server, "Office", K::Obj(T::Office, "Location", 1, false), G::Ref(1), 0.8),
    (T::Server, "Hosted on", K::Obj(T::Server, HOSTED_ON, 1, false), G::HostedOn, 0.9),
    (T::Server, "Runs", K::Obj(T::Application, "Installed", -1, false), G::Later, 1.0),
    (T::VServer, "Hypervisor", K::Sel(&HYPERVISORS, false), G::Sel(1), 0.9),
    (T::VServer, "vCPU", K::D(D::Integer), G::Int(1, 32), 0.9),
    // People: abstract, inherited by Employee.
    (T::People, "Email", K::Email(1, 2), G::Email, 1.0),
    (T::People, "Phone", K::D(D::Text), G::Phone, 0.6),
    (T::People, "Notes", K::D(D::Text), G::Notes, 0.1),
    (T::Employee, "Employee Number", K::D(D::Text), G::Code("E"), 1.0),
    (T::Employee, "Job Title", K::D(D::Text), G::Pick(&objects::JOBS), 1.0),
    (T::Employee, "Department", K::Sel(&DEPARTMENTS, false), G::Sel(1), 0.95),
    (T::Employee, "Start Date", K::D(D::Date), G::Date, 0.9),
    (T::Employee, "Remote", K::D(D::Boolean), G::Bool, 0.8),
    (T::Employee, "Jira User", K::User(None, false), G::JiraUser, 0.5),
    (T::Employee, "Manager", K::Obj(T::Employee, "Reference", 1, false), G::Ref(1), 0.8),
    (T::Employee, "Office", K::Obj(T::Office, "Location", 1, false), G::Ref(1), 0.9),
    (T::Employee, "Skills", K::Sel(&SKILLS, true), G::Sel(4), 0.6),
    (T::Employee, "Teams", K::Group(true), G::Group(2), 0.5),
    // Software: inherited and concrete, with Application and License below it.
    (T::Software, "Publisher", K::D(D::Text), G::Pick(&objects::PUBLISHERS), 0.9),
    (T::Software, "Version", K::D(D::Text), G::Version, 1.0),
    (T::Software, "Homepage", K::Url("DISABLED"), G::Url(URL_PREFIXES[0]), 0.6),
    (T::Software, "Support Email", K::Email(0, 1), G::Email, 0.4),
    (T::Software, "Notes", K::D(D::Text), G::Notes, 0.1),
    (T::Application, "Description", K::D(D::Textarea), G::Prose, 0.8),
    (T::Application, "Criticality", K::Sel(&TIERS, false), G::Sel(1), 0.9),
    (T::Application, "Application Status", K::Status(&APP_STATUS, false), G::Status, 0.9),
    (T::Application, "Business Owner", K::User(None, false), G::User(1), 0.7),
    (T::Application, "Runs on", K::Obj(T::Server, "Dependency", -1, true), G::Ref(2), 0.9),
    (T::Application, "Users Count", K::D(D::Integer), G::Int(1, 50_000), 0.7),
    (T::Application, "Depends on", K::Obj(T::Application, "Dependency", -1, false), G::Ref(2), 0.4),
    (T::License, "Seats", K::Num(D::Integer, "", true), G::Int(1, 5000), 0.9),
    (T::License, "Annual Cost", K::Num(D::Double, "USD", true), G::Dbl(100.0, 250_000.0), 0.8),
    (T::License, "Expiry Date", K::D(D::Date), G::Date, 0.9),
    (T::License, "License Key", K::D(D::Text), G::Code("LK-"), 0.8),
    (T::License, "Licensed Software", K::Obj(T::Application, "Reference", 1, false), G::Ref(1), 0.9),
    (T::License, "Installed on", K::Obj(T::Hardware, "Installed", -1, true), G::Ref(3), 0.6),
    // Network: not inherited, so Switch and Router have their own Key, Name, Created, Updated.
    (T::Network, "CIDR", K::D(D::Text), G::Cidr, 0.9),
    (T::Network, "VLAN", K::D(D::Integer), G::Int(1, 4094), 1.0),
    (T::Switch, "Management IP", K::D(D::IpAddress), G::Ip, 0.9),
    (T::Switch, "Ports", K::D(D::Integer), G::IntOf(&[8, 16, 24, 48]), 1.0),
    (T::Switch, "Uplink", K::Obj(T::Router, "Link", 1, false), G::Ref(1), 0.8),
    (T::Switch, "Office", K::Obj(T::Office, "Location", 1, false), G::Ref(1), 0.8),
    (T::Switch, "Firmware URL", K::D(D::Url), G::Url(URL_PREFIXES[1]), 0.5),
    (T::Router, "Management IP", K::D(D::IpAddress), G::Ip, 0.9),
    (T::Router, "Site", K::Obj(T::Site, "Location", 1, false), G::Ref(1), 0.9),
    (T::Router, "Throughput", K::Num(D::Double, "Gbps", false), G::Dbl(1.0, 400.0), 1.0),
];

/// One attribute as a type sees it, with what its generator needs.
pub(super) struct Gen {
    pub attr: u32,
    /// `attr` as the API spells it in an `AttrInput`.
    pub id: String,
    pub g: G,
    pub fill: f64,
    /// The attribute history updates change on this type (see `TYPES`).
    pub mutable: bool,
    /// Select options.
    pub opts: &'static [&'static str],
    /// Status ids values take.
    pub statuses: Vec<u32>,
    /// Concrete types whose objects a reference may point at.
    pub targets: Vec<T>,
    /// User values come from the `it-operations` group.
    pub itops: bool,
}

/// The schema as built: type ids and each type's generators (label first, inherited next).
pub(super) struct Plan {
    pub tid: [u32; NT],
    pub gens: Vec<Vec<Gen>>,
    pub hosted_on: u32,
    pub runs: u32,
    pub runs_on: u32,
}

/// The concrete types at or below `t` (what `includeChildObjectTypes` admits).
fn concrete_below(t: T) -> Vec<T> {
    let mut out = vec![t];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(TYPES.iter().filter(|d| d.3 == Some(cur)).map(|d| d.0));
        i += 1;
    }
    out.retain(|x| TYPES.iter().any(|d| d.0 == *x && !d.5));
    out
}

/// The API body for an attribute of kind `k`, and the status ids its values take.
fn attr_spec(
    ws: &Workspace,
    schema: u32,
    tid: &[u32; NT],
    name: &str,
    k: K,
) -> (AttrSpec, Vec<u32>) {
    let base = |code: i64, dt: Option<D>| AttrSpec {
        name: Some(name.into()),
        type_code: Some(code),
        default_type_id: dt.map(D::id),
        ..Default::default()
    };
    let status = |n: &str| {
        let s = ws
            .statuses
            .values()
            .find(|s| s.name == n && s.schema_id.is_none_or(|x| x == schema));
        s.map(|s| s.id).expect("dataset status exists")
    };
    let max = |unlimited: bool| Some(if unlimited { -1 } else { 1 });
    let spec = match k {
        K::D(dt) => base(0, Some(dt)),
        K::Unique => AttrSpec {
            unique: Some(true),
            ..base(0, Some(D::Text))
        },
        K::Regex(re) => AttrSpec {
            regex_validation: Some(re.into()),
            ..base(0, Some(D::Text))
        },
        K::Num(dt, suffix, summable) => AttrSpec {
            suffix: Some(suffix.into()),
            summable: Some(summable),
            ..base(0, Some(dt))
        },
        K::Url(ping) => AttrSpec {
            additional_value: Some(ping.into()),
            ..base(0, Some(D::Url))
        },
        K::Sel(opts, multi) => AttrSpec {
            options: Some(opts.join(",")),
            max_cardinality: max(multi),
            ..base(0, Some(D::Select))
        },
        K::Email(min, most) => AttrSpec {
            min_cardinality: Some(min),
            max_cardinality: Some(most),
            ..base(0, Some(D::Email))
        },
        K::Obj(target, ref_type, most, children) => {
            let rt = ws
                .ref_types
                .values()
                .find(|r| r.name == ref_type && r.schema_id.is_none_or(|x| x == schema));
            AttrSpec {
                type_value: Some(tid[target as usize].to_string()),
                additional_value: Some(rt.expect("dataset reference type exists").id.to_string()),
                max_cardinality: Some(most),
                include_child_object_types: Some(children),
                ..base(1, None)
            }
        }
        K::User(group, multi) => AttrSpec {
            type_value_multi: group.map(|g| vec![g.to_string()]),
            max_cardinality: max(multi),
            ..base(2, None)
        },
        K::Group(multi) => AttrSpec {
            max_cardinality: max(multi),
            ..base(4, None)
        },
        K::Status(names, only) => {
            let ids: Vec<u32> = names.iter().map(|n| status(n)).collect();
            let allowed = only.then(|| ids.iter().map(u32::to_string).collect());
            return (
                AttrSpec {
                    type_value_multi: allowed,
                    ..base(7, None)
                },
                ids,
            );
        }
    };
    (spec, Vec::new())
}

/// A dataset definition the Workspace refuses is a bug in this file.
fn fail(what: &str) -> impl Fn(crate::error::ApiError) -> u32 + '_ {
    move |e| panic!("dataset {what}: {}", e.body)
}

/// Creates the two schemas with their statuses, reference type, icons, types and attributes.
pub(super) fn build_schema(ws: &mut Workspace) -> Plan {
    let t0: Millis = BASE_MILLIS - 30 * 86_400_000;
    let itsm = ws.create_schema(
        "IT Assets",
        "ITSM",
        Some("Hardware, software, people".into()),
        t0,
    );
    let itsm = itsm.unwrap_or_else(fail("schema ITSM"));
    let loc = ws.create_schema(
        "Locations",
        "LOC",
        Some("Regions and sites".into()),
        t0 + 60_000,
    );
    let loc = loc.unwrap_or_else(fail("schema LOC"));
    ws.set_schema_config(loc, |c| c.allow_other_object_schema = true)
        .expect("LOC exists");
    for (name, category, schema) in [
        ("In Repair", 2, itsm),
        ("Retired", 0, itsm),
        ("Planned", 2, loc),
    ] {
        ws.create_status(name, None, category, Some(schema))
            .unwrap_or_else(fail("status"));
    }
    let color = Some("8777d9".to_string());
    ws.create_ref_type(HOSTED_ON, Some("Runs on top of".into()), color, Some(itsm))
        .unwrap_or_else(fail("ref type"));
    for name in CUSTOM_ICONS {
        ws.add_schema_icon(name, itsm);
    }
    let mut tid = [0u32; NT];
    for (i, &(t, name, in_loc, parent, inherited, abstract_type, icon, _)) in
        TYPES.iter().enumerate()
    {
        let schema_id = if in_loc { loc } else { itsm };
        let icon = ws
            .icons
            .values()
            .find(|x| x.name == icon && x.schema_id.is_none_or(|s| s == schema_id));
        let spec = TypeSpec {
            schema_id,
            name: name.into(),
            description: Some(format!("{name} records")),
            icon_id: icon.expect("dataset icon exists").id,
            parent: parent.map(|p| tid[p as usize]),
            inherited,
            abstract_type,
        };
        tid[t as usize] = ws
            .create_type(spec, t0 + 120_000 + i as Millis * 60_000)
            .unwrap_or_else(fail(name));
    }
    let mut own: Vec<Vec<Gen>> = (0..NT).map(|_| Vec::new()).collect();
    for &(t, name, k, g, fill) in ATTRS {
        let schema = ws.types[&tid[t as usize]].schema_id;
        let (spec, statuses) = attr_spec(ws, schema, &tid, name, k);
        let attr = ws
            .create_attr(tid[t as usize], spec)
            .unwrap_or_else(fail(name));
        let (opts, targets, itops) = match k {
            K::Sel(opts, _) => (opts, Vec::new(), false),
            K::Obj(target, _, _, children) => (
                &[][..],
                if children {
                    concrete_below(target)
                } else {
                    vec![target]
                },
                false,
            ),
            K::User(group, _) => (&[][..], Vec::new(), group.is_some()),
            _ => (&[][..], Vec::new(), false),
        };
        let id = attr.to_string();
        own[t as usize].push(Gen {
            attr,
            id,
            g,
            fill,
            mutable: false,
            opts,
            statuses,
            targets,
            itops,
        });
    }
    let attr_of = |t: T, name: &str| {
        let g = own[t as usize]
            .iter()
            .find(|g| ws.attrs[&g.attr].name == name);
        g.map(|g| g.attr).expect("dataset attribute")
    };
    let (hosted_on, runs, runs_on) = (
        attr_of(T::Server, HOSTED_ON),
        attr_of(T::Server, "Runs"),
        attr_of(T::Application, "Runs on"),
    );
    // Each type's visible generators: its label, then its ancestors' attributes, then its own.
    let mut gens: Vec<Vec<Gen>> = (0..NT).map(|_| Vec::new()).collect();
    for d in &TYPES {
        let mut chain = vec![d.0];
        while let Some(p) = TYPES
            .iter()
            .find(|x| x.0 == *chain.last().expect("non-empty"))
            .and_then(|x| x.3)
        {
            if !TYPES.iter().any(|x| x.0 == p && x.4) {
                break;
            }
            chain.push(p);
        }
        let root = tid[*chain.last().expect("non-empty") as usize];
        let label = ws.label_attr(root).expect("dataset label attribute");
        let v = &mut gens[d.0 as usize];
        v.push(Gen {
            attr: label,
            id: label.to_string(),
            g: G::Label,
            fill: 1.0,
            mutable: false,
            opts: &[],
            statuses: Vec::new(),
            targets: Vec::new(),
            itops: false,
        });
        for g in chain.iter().rev().flat_map(|t| &own[*t as usize]) {
            let mutable = !d.7.is_empty() && ws.attrs[&g.attr].name == d.7;
            v.push(Gen {
                mutable,
                statuses: g.statuses.clone(),
                targets: g.targets.clone(),
                id: g.id.clone(),
                ..*g
            });
        }
    }
    Plan {
        tid,
        gens,
        hosted_on,
        runs,
        runs_on,
    }
}
