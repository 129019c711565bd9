//! Planning a batch of page updates before anything is applied. Pure.
//!
//! Pages are identified by page id. A known id under a new title is a move.
//! An incoming page whose title a page outside the batch still holds moves
//! that page aside first (as the OAI extension's own harvester does); that
//! page keeps a placeholder title until its own update arrives. Renames go
//! in two phases: every page whose title changes first leaves it for a
//! placeholder, then takes its new one, so chains (A→B, B→C), swaps (A↔B)
//! and move-then-recreate never put two live pages on one title, which the
//! store's unique index forbids. Deletions come between the phases, so a
//! title freed by a deletion can be taken in the same batch.

use std::collections::{HashMap, HashSet};

use checkpoints::{PageOp, PageRow, RevisionRow};

/// A page as the mirror holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    pub pageid: u64,
    pub ns: i64,
    pub title: String,
    pub deleted: bool,
    pub displaced: bool,
    pub rev_id: Option<u64>,
    pub redirect: Option<String>,
}

/// A page's current state, as a feed reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    Present { page: PageRow, revisions: Vec<RevisionRow> },
    Deleted { pageid: u64 },
}

impl Incoming {
    fn pageid(&self) -> u64 {
        match self {
            Incoming::Present { page, .. } => page.pageid,
            Incoming::Deleted { pageid } => *pageid,
        }
    }
}

/// The page ids an incoming batch names, and the titles it puts pages on:
/// what the store is asked about before planning.
pub fn lookup_keys(incoming: &[Incoming]) -> (Vec<u64>, Vec<(i64, String)>) {
    let ids = incoming.iter().map(Incoming::pageid).collect();
    let titles = incoming.iter().filter_map(|i| if let Incoming::Present { page, .. } = i { Some((page.ns, page.title.clone())) } else { None }).collect();
    (ids, titles)
}

/// Stored pages as the planner knows them.
pub fn known_from(rows: HashMap<u64, checkpoints::StoredPage>) -> HashMap<u64, Known> {
    rows.into_values()
        .map(|p| {
            (p.pageid, Known { pageid: p.pageid, ns: p.ns, title: p.title, deleted: p.deleted, displaced: p.displaced, rev_id: p.rev_id, redirect: p.redirect })
        })
        .collect()
}

/// A move the plan carries out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    pub pageid: u64,
    pub from: (i64, String),
    pub to: (i64, String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// For the store, in order.
    pub ops: Vec<PageOp>,
    pub moves: Vec<Move>,
    pub created: Vec<u64>,
    pub updated: Vec<u64>,
    pub deleted: Vec<u64>,
    pub undeleted: Vec<u64>,
    /// Known pages moved aside because an incoming page took their title.
    pub displaced: Vec<u64>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// What plans did, counted over a pull's or an import's batches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub moved: u64,
    pub deleted: u64,
    pub undeleted: u64,
    pub displaced: u64,
}

impl Counts {
    pub fn add(&mut self, plan: &Plan) {
        self.created += plan.created.len() as u64;
        self.updated += plan.updated.len() as u64;
        self.moved += plan.moves.len() as u64;
        self.deleted += plan.deleted.len() as u64;
        self.undeleted += plan.undeleted.len() as u64;
        self.displaced += plan.displaced.len() as u64;
    }
}

/// A title no real page can have (`<` is not allowed in MediaWiki titles),
/// unique per page id.
pub fn placeholder(pageid: u64) -> String {
    format!("<moved aside: page {pageid}>")
}

/// Plans a batch. `known` holds the mirror's rows for the incoming ids and
/// for the live pages on the incoming titles (`occupants`: (ns, title) → id).
pub fn plan(known: &HashMap<u64, Known>, occupants: &HashMap<(i64, String), u64>, incoming: Vec<Incoming>) -> Plan {
    // The last word on each page wins; id 0 is the OAI extension's phantom
    // record of a move without a redirect.
    let mut order: Vec<u64> = Vec::new();
    let mut latest: HashMap<u64, Incoming> = HashMap::new();
    for inc in incoming {
        let id = inc.pageid();
        if id == 0 {
            continue;
        }
        if latest.insert(id, inc).is_none() {
            order.push(id);
        }
    }

    let mut plan = Plan::default();
    let mut vacate: Vec<u64> = Vec::new();
    let mut deletes: Vec<PageOp> = Vec::new();
    let mut writes: Vec<PageOp> = Vec::new();
    // Final (ns, title) → the incoming page that takes it, in feed order.
    let mut claims: HashMap<(i64, String), u64> = HashMap::new();
    let mut displaced_in_batch: HashSet<u64> = HashSet::new();
    // Known pages outside the batch that must leave their titles.
    let mut aside: Vec<u64> = Vec::new();

    for id in &order {
        match &latest[id] {
            Incoming::Deleted { pageid } => {
                if known.get(pageid).is_some_and(|k| !k.deleted) {
                    deletes.push(PageOp::Delete { pageid: *pageid });
                    plan.deleted.push(*pageid);
                }
            }
            Incoming::Present { page, .. } => {
                let key = (page.ns, page.title.clone());
                // Two incoming pages on one title (states from different
                // moments): the later one in the feed wins; the earlier waits
                // for its next update under a placeholder.
                if let Some(earlier) = claims.insert(key, page.pageid) {
                    displaced_in_batch.insert(earlier);
                }
            }
        }
    }

    for id in &order {
        let Incoming::Present { page, revisions } = &latest[id] else { continue };
        let mut row = page.clone();
        let before = known.get(id);
        let displaced = displaced_in_batch.contains(id);
        // Seen again, unchanged (feeds overlap at their boundaries): nothing to do.
        if !displaced
            && before
                .is_some_and(|k| !k.deleted && !k.displaced && (k.ns, &k.title, k.rev_id, &k.redirect) == (row.ns, &row.title, Some(row.rev_id), &row.redirect))
            && occupants.get(&(row.ns, row.title.clone())).is_none_or(|o| *o == row.pageid)
        {
            continue;
        }
        if displaced {
            row.title = placeholder(row.pageid);
            row.displaced = true;
            plan.displaced.push(row.pageid);
        }
        match before {
            None => plan.created.push(row.pageid),
            Some(k) => {
                plan.updated.push(row.pageid);
                if k.deleted {
                    plan.undeleted.push(row.pageid);
                }
                if (k.ns, &k.title) != (row.ns, &row.title) {
                    if !k.deleted {
                        vacate.push(row.pageid);
                    }
                    if !displaced {
                        plan.moves.push(Move { pageid: row.pageid, from: (k.ns, k.title.clone()), to: (row.ns, row.title.clone()) });
                    }
                }
            }
        }
        // The page now on this title, if it is not part of the batch, moves aside.
        if let Some(&occupant) = occupants.get(&(row.ns, row.title.clone()))
            && occupant != row.pageid
            && !latest.contains_key(&occupant)
            && !aside.contains(&occupant)
        {
            aside.push(occupant);
            plan.displaced.push(occupant);
        }
        writes.push(PageOp::Upsert { page: row, revisions: revisions.clone() });
    }

    plan.ops.extend(vacate.into_iter().map(|pageid| PageOp::Rename { pageid, title: placeholder(pageid) }));
    plan.ops.extend(aside.into_iter().map(|pageid| PageOp::Displace { pageid, title: placeholder(pageid) }));
    plan.ops.extend(deletes);
    plan.ops.extend(writes);
    plan
}

#[cfg(test)]
mod tests;
