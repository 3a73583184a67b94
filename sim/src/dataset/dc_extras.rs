//! What a Data Center site's "cmdb" dataset holds beyond Cloud's: comments on about a third of
//! the objects and attachments (small generated files) on about a fifth. Some attachments are
//! the same file on several objects (a vendor's datasheet), as real sites have, so a backup can
//! show its deduplication. Drawn from a random stream of their own, so adding them changes
//! nothing else of the dataset.

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::objects::PROSE_WORDS;
use crate::model::Millis;
use crate::ws::Workspace;
use crate::ws::extras::NewAttachment;

/// Share of objects with comments, and with attachments.
const COMMENTED: f64 = 1.0 / 3.0;
const ATTACHED: f64 = 0.2;
/// Vendors whose shared datasheet several objects carry.
const VENDORS: [&str; 4] = ["acme", "globex", "initech", "umbrella"];
const HOUR: Millis = 3_600_000;

/// Adds the comments and attachments, each after its object's creation.
pub(super) fn add(ws: &mut Workspace, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6463_5f65_7874_7261);
    let active: Vec<u32> = (0..ws.users.len() as u32)
        .filter(|i| ws.users[*i as usize].active)
        .collect();
    let objects: Vec<(u32, Millis, String)> = ws
        .objects()
        .map(|o| (o.id, o.created, ws.object_key(o)))
        .collect();
    for (id, created, key) in objects {
        if rng.random_bool(COMMENTED) {
            let mut at = created;
            for _ in 0..rng.random_range(1..=3) {
                at += rng.random_range(HOUR..30 * 24 * HOUR);
                let actor = active[rng.random_range(0..active.len())];
                let words = rng.random_range(4..30);
                let text = sentence(&mut rng, words);
                let role = if rng.random_bool(0.9) { 0 } else { 1 };
                let done = ws.add_comment(id, &text, role, actor, at);
                done.unwrap_or_else(|e| panic!("dataset comment on {key}: {}", e.body));
            }
        }
        if rng.random_bool(ATTACHED) {
            let mut at = created;
            for n in 0..rng.random_range(1..=2) {
                at += rng.random_range(HOUR..10 * 24 * HOUR);
                let author = active[rng.random_range(0..active.len())];
                let file = file(&mut rng, &key, n);
                let done = ws.add_attachment(id, file, author, at);
                done.unwrap_or_else(|e| panic!("dataset attachment on {key}: {}", e.body));
            }
        }
    }
}

fn sentence(rng: &mut ChaCha8Rng, words: usize) -> String {
    let mut s = (0..words)
        .map(|_| PROSE_WORDS[rng.random_range(0..PROSE_WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ");
    s[..1].make_ascii_uppercase();
    s.push('.');
    s
}

/// One generated file: a text note, a CSV inventory, a PNG photo, or a shared datasheet.
fn file(rng: &mut ChaCha8Rng, key: &str, n: u32) -> NewAttachment {
    let kind = rng.random_range(0..4);
    let (filename, mime_type, bytes) = match kind {
        0 => {
            let lines = rng.random_range(2..20);
            let text: Vec<String> = (0..lines)
                .map(|_| {
                    let words = rng.random_range(3..15);
                    sentence(rng, words)
                })
                .collect();
            (
                format!("notes-{key}-{n}.txt"),
                "text/plain",
                format!("{}\n", text.join("\n")).into_bytes(),
            )
        }
        1 => {
            let rows = rng.random_range(1..40);
            let mut csv = String::from("part,serial,quantity\n");
            for r in 0..rows {
                let serial: u32 = rng.random();
                let quantity = rng.random_range(1..50);
                csv.push_str(&format!("part-{r},{serial:08X},{quantity}\n"));
            }
            (format!("inventory-{key}.csv"), "text/csv", csv.into_bytes())
        }
        2 => {
            let rgb = [rng.random(), rng.random(), rng.random()];
            let size = [16, 24, 32, 48][rng.random_range(0..4)];
            (
                format!("photo-{key}-{n}.png"),
                "image/png",
                crate::icons::png(rgb, size),
            )
        }
        _ => {
            let vendor = VENDORS[rng.random_range(0..VENDORS.len())];
            (
                format!("{vendor}-datasheet.txt"),
                "text/plain",
                datasheet(vendor).into_bytes(),
            )
        }
    };
    NewAttachment {
        filename,
        mime_type: mime_type.to_string(),
        bytes: Bytes::from(bytes),
        comment: String::new(),
    }
}

/// The same bytes for every object of a vendor.
fn datasheet(vendor: &str) -> String {
    let mut s = format!("{vendor} datasheet\n");
    for i in 1..=40 {
        s.push_str(&format!(
            "{i:02}. The {vendor} unit is rated for continuous service.\n"
        ));
    }
    s
}
