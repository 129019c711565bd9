use super::*;
use crate::testing::wiki_page as page;

fn rendering(rev_id: u64, html: &str) -> Rendering {
    Rendering { rev_id, html: html.into(), display_title: "Water".into(), categories: vec!["Liquids".into(), "H2O".into()] }
}

#[test]
fn a_rendering_is_given_only_while_its_revision_is_the_pages_current_one() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[page(1, 0, "Water", 10), page(2, 0, "Ice", 20)], None, 1).unwrap();
    let gaps = |s: &Store| s.render_gaps("w", 0, 10).unwrap().into_iter().map(|g| (g.pageid, g.rev_id)).collect::<Vec<_>>();
    assert_eq!(gaps(&s), [(1, 10), (2, 20)]);
    s.set_renderings("w", &[(1, rendering(10, "<p>Water is wet.</p>"))], 5).unwrap();
    assert_eq!(gaps(&s), [(2, 20)]);
    assert_eq!(s.rendering("w", 1).unwrap(), Some(rendering(10, "<p>Water is wet.</p>")));
    assert_eq!(s.render_status("w").unwrap(), (2, 1));

    // Edited: the old rendering is not shown as current, and the page is rendered again.
    s.apply_wiki_batch("w", &[page(1, 0, "Water", 11)], None, 6).unwrap();
    assert_eq!(s.rendering("w", 1).unwrap(), None);
    assert_eq!(gaps(&s), [(1, 11), (2, 20)]);
    s.set_renderings("w", &[(1, rendering(11, "<p>Water flows.</p>")), (2, rendering(20, "<p>Ice.</p>"))], 7).unwrap();
    assert_eq!(s.rendering("w", 1).unwrap().unwrap().html, "<p>Water flows.</p>");
    assert!(gaps(&s).is_empty());

    // --render-all: every page again.
    assert_eq!(s.forget_renderings("w").unwrap(), 2);
    assert_eq!(gaps(&s).len(), 2);
}
