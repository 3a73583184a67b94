//! A site's user directory and groups: the standard directory (when the site configures no
//! users) or exactly the configured users, plus the site's own account, which is the actor of
//! every change the dataset makes. Account and group ids derive from names, never from
//! randomness, so the same person has the same id on every site.

use crate::config::{Flavor, SiteConfig};
use crate::model::{Group, User};

/// Groups every site has, whoever its users are.
pub const STANDARD_GROUPS: [&str; 5] = [
    "jira-administrators",
    "jira-servicemanagement-users",
    "it-operations",
    "hr",
    "finance",
];

/// The group whose members may be set on restricted User attributes ("Administrators").
pub const IT_OPERATIONS: &str = "it-operations";

const JSM: &str = "jira-servicemanagement-users";

/// The standard directory: (display name, email, groups besides `jira-servicemanagement-users`,
/// active). Two people share the display name "Alex Morgan"; Hannah Schmidt has left.
const STANDARD_USERS: [(&str, &str, &[&str], bool); 16] = [
    (
        "Alex Morgan",
        "alex.morgan@example.com",
        &["it-operations"],
        true,
    ),
    ("Alex Morgan", "alex.morgan2@example.com", &["hr"], true),
    (
        "Priya Natarajan",
        "priya.natarajan@example.com",
        &["jira-administrators", "it-operations"],
        true,
    ),
    (
        "Jordan Lee",
        "jordan.lee@example.com",
        &["it-operations"],
        true,
    ),
    (
        "Sam Okafor",
        "sam.okafor@example.com",
        &["it-operations"],
        true,
    ),
    ("Mia Krystof", "mia.krystof@example.com", &[], true),
    ("Chen Wei", "chen.wei@example.com", &["it-operations"], true),
    ("Fatima Zahra", "fatima.zahra@example.com", &["hr"], true),
    (
        "Lukas Becker",
        "lukas.becker@example.com",
        &["it-operations"],
        true,
    ),
    ("Sofia Rossi", "sofia.rossi@example.com", &["finance"], true),
    ("Diego Hernández", "diego.hernandez@example.com", &[], true),
    ("Aisha Bello", "aisha.bello@example.com", &["finance"], true),
    ("Tom Nguyen", "tom.nguyen@example.com", &["finance"], true),
    (
        "Hannah Schmidt",
        "hannah.schmidt@example.com",
        &["it-operations"],
        false,
    ),
    ("Olivia Brown", "olivia.brown@example.com", &["hr"], true),
    (
        "Kenji Tanaka",
        "kenji.tanaka@example.com",
        &["it-operations"],
        true,
    ),
];

/// FNV-1a over `bytes`, starting from `basis`.
fn fnv1a(bytes: &[u8], basis: u64) -> u64 {
    bytes.iter().fold(basis, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A stable 24-hex-digit account id (`5b10a2844c20165700ede201` style) for a person.
pub fn account_id(display_name: &str, email: Option<&str>) -> String {
    let key = format!(
        "{}\n{}",
        display_name.trim(),
        email.unwrap_or("").trim().to_ascii_lowercase()
    );
    let h1 = fnv1a(key.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let h2 = fnv1a(key.as_bytes(), 0x8422_2325_cbf2_9ce4);
    format!(
        "{:x}{:015x}{:08x}",
        5 + h1 % 3,
        (h1 >> 4) & 0x0fff_ffff_ffff_ffff,
        h2 as u32
    )
}

/// A stable UUID-shaped group id.
pub fn group_id(name: &str) -> String {
    let a = fnv1a(name.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let b = fnv1a(name.as_bytes(), 0x9e37_79b9_7f4a_7c15);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        8 + (b >> 62),
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

/// A login name: the email's local part, lower case ("Alex.Morgan@x" -> "alex.morgan");
/// a display name becomes lower case with dots for spaces.
pub fn username_of(email_or_name: &str) -> String {
    let local = email_or_name.split('@').next().unwrap_or("").trim();
    local.to_lowercase().replace(' ', ".")
}

/// "site-admin@example.com" -> "Site Admin".
pub fn display_name_from_email(email: &str) -> String {
    let local = email.split('@').next().unwrap_or("");
    let local = local.split('+').next().unwrap_or("");
    let words: Vec<String> = local
        .split(['.', '_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        })
        .collect();
    if words.is_empty() {
        "Site Admin".to_string()
    } else {
        words.join(" ")
    }
}

/// Adds `name` to `groups` unless present (keeps first-seen order).
fn add_group(groups: &mut Vec<String>, name: &str) {
    if !name.trim().is_empty() && !groups.iter().any(|g| g == name) {
        groups.push(name.to_string());
    }
}

/// The site's users, its groups, and the index of the site's own account (the actor).
pub fn directory(site: &SiteConfig) -> (Vec<User>, Vec<Group>, u32) {
    let mut users: Vec<User> = if site.users.is_empty() {
        STANDARD_USERS
            .iter()
            .map(|(name, email, groups, active)| {
                let mut g = vec![JSM.to_string()];
                groups.iter().for_each(|x| add_group(&mut g, x));
                User {
                    account_id: account_id(name, Some(email)),
                    username: username_of(email),
                    display_name: (*name).to_string(),
                    email: Some((*email).to_string()),
                    active: *active,
                    groups: g,
                }
            })
            .collect()
    } else {
        site.users
            .iter()
            .map(|u| User {
                account_id: u
                    .account_id
                    .clone()
                    .filter(|a| !a.trim().is_empty())
                    .unwrap_or_else(|| account_id(&u.display_name, u.email.as_deref())),
                username: u
                    .username
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| username_of(u.email.as_deref().unwrap_or(&u.display_name))),
                display_name: u.display_name.clone(),
                email: u.email.clone(),
                active: u.active,
                groups: u.groups.clone(),
            })
            .collect()
    };
    let own = users.iter().position(|u| {
        u.email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(site.email.trim()))
    });
    let actor = match own {
        Some(i) => i,
        None => {
            let name = display_name_from_email(&site.email);
            users.push(User {
                account_id: account_id(&name, Some(&site.email)),
                username: username_of(&site.email),
                display_name: name,
                email: Some(site.email.clone()),
                active: true,
                groups: vec![
                    "jira-administrators".into(),
                    JSM.into(),
                    IT_OPERATIONS.into(),
                ],
            });
            users.len() - 1
        }
    };
    if site.flavor == Flavor::Dc {
        // Data Center identifies users by key: JIRAUSER10000 on, in directory order, unless
        // the configuration names one.
        for (i, u) in users.iter_mut().enumerate() {
            let configured = site.users.get(i).and_then(|c| c.key.as_deref());
            u.account_id = match configured.filter(|k| !k.trim().is_empty()) {
                Some(k) => k.to_string(),
                None => format!("JIRAUSER{}", 10000 + i),
            };
        }
    }
    let mut names: Vec<String> = Vec::new();
    STANDARD_GROUPS
        .iter()
        .for_each(|g| add_group(&mut names, g));
    for u in &users {
        u.groups.iter().for_each(|g| add_group(&mut names, g));
    }
    let groups = names
        .into_iter()
        .map(|name| Group {
            group_id: group_id(&name),
            name,
        })
        .collect();
    (users, groups, actor as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatasetConfig, UserConfig};

    fn site(email: &str, users: Vec<UserConfig>) -> SiteConfig {
        SiteConfig {
            name: "s".into(),
            email: email.into(),
            token: "t".into(),
            password: None,
            extra_tokens: vec![],
            workspace_id: None,
            cloud_id: None,
            flavor: Flavor::Cloud,
            rate_limits: None,
            dataset: DatasetConfig::default(),
            users,
        }
    }

    #[test]
    fn dataset_standard_directory() {
        let (users, groups, actor) = directory(&site("site-admin@example.com", vec![]));
        assert_eq!(users.len(), 17);
        let me = &users[actor as usize];
        assert_eq!(me.display_name, "Site Admin");
        assert_eq!(me.email.as_deref(), Some("site-admin@example.com"));
        let alex: Vec<&User> = users
            .iter()
            .filter(|u| u.display_name == "Alex Morgan")
            .collect();
        assert_eq!(alex.len(), 2);
        assert_ne!(alex[0].account_id, alex[1].account_id);
        assert_ne!(alex[0].email, alex[1].email);
        assert_eq!(users.iter().filter(|u| !u.active).count(), 1);
        for u in &users {
            assert_eq!(u.account_id.len(), 24);
            assert!(u.account_id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        let ids: std::collections::HashSet<&str> =
            users.iter().map(|u| u.account_id.as_str()).collect();
        assert_eq!(ids.len(), users.len());
        for g in STANDARD_GROUPS {
            assert!(groups.iter().any(|x| x.name == g), "{g}");
        }
        // Same person, same id on another site.
        let (other, _, _) = directory(&site("ops@other.example.com", vec![]));
        assert_eq!(other[2].account_id, users[2].account_id);
    }

    #[test]
    fn dataset_configured_directory() {
        let cfg = vec![
            UserConfig {
                display_name: "Ann Lane".into(),
                email: Some("ann@example.com".into()),
                account_id: None,
                key: None,
                username: None,
                groups: vec!["auditors".into()],
                active: true,
            },
            UserConfig {
                display_name: "Bo Diaz".into(),
                email: None,
                account_id: Some("712020:abc".into()),
                key: None,
                username: None,
                groups: vec![],
                active: false,
            },
        ];
        let (users, groups, actor) = directory(&site("robot.backup@example.com", cfg));
        assert_eq!(users.len(), 3);
        assert_eq!(
            users[0].account_id,
            account_id("Ann Lane", Some("ann@example.com"))
        );
        assert_eq!(users[1].account_id, "712020:abc");
        assert_eq!(users[actor as usize].display_name, "Robot Backup");
        assert!(groups.iter().any(|g| g.name == "auditors"));
        assert_eq!(groups.len(), 6);
        // The site account may itself be a configured user.
        let cfg = vec![UserConfig {
            display_name: "Me".into(),
            email: Some("Me@Example.com".into()),
            account_id: None,
            key: None,
            username: None,
            groups: vec![],
            active: true,
        }];
        let (users, _, actor) = directory(&site("me@example.com", cfg));
        assert_eq!((users.len(), actor), (1, 0));
    }

    #[test]
    fn dataset_data_center_directory_uses_keys_and_usernames() {
        let user = |name: &str, email: Option<&str>, key: Option<&str>, username: Option<&str>| {
            UserConfig {
                display_name: name.into(),
                email: email.map(str::to_string),
                account_id: None,
                key: key.map(str::to_string),
                username: username.map(str::to_string),
                groups: vec![],
                active: true,
            }
        };
        let mut s = site(
            "Site.Admin@example.com",
            vec![
                user(
                    "Ann Lane",
                    Some("ann@example.com"),
                    Some("JIRAUSER20000"),
                    Some("al"),
                ),
                user("Bo Diaz", Some("Bo.Diaz@example.com"), None, None),
                user("Cy", None, None, None),
            ],
        );
        s.flavor = Flavor::Dc;
        let (users, _, actor) = directory(&s);
        let ids: Vec<(&str, &str)> = users
            .iter()
            .map(|u| (u.account_id.as_str(), u.username.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("JIRAUSER20000", "al"),
                ("JIRAUSER10001", "bo.diaz"),
                ("JIRAUSER10002", "cy"),
                ("JIRAUSER10003", "site.admin"),
            ]
        );
        assert_eq!(actor, 3);
    }
}
